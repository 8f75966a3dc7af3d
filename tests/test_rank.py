"""`enas-arch rank`: Kendall's tau by hand, experiment.json round trips, clear errors, and the
whole study on a real (tiny) CIFAR-10 search."""

import itertools
import json
import math

import pytest

import enas_tf2
from cli_runner import TINY_SEARCH, error_lines, run_cli
from enas_tf2.errors import EnasError
from enas_tf2.ranking.experiment_file import experiment_from_json
from enas_tf2.ranking.kendall import kendall_tau


def _tau_by_counting(x, y):
    """tau-b from its definition, pair by pair."""
    pairs = list(itertools.combinations(range(len(x)), 2))
    concordant = sum(1 for i, j in pairs if (x[i] - x[j]) * (y[i] - y[j]) > 0)
    discordant = sum(1 for i, j in pairs if (x[i] - x[j]) * (y[i] - y[j]) < 0)
    untied_x = sum(1 for i, j in pairs if x[i] != x[j])
    untied_y = sum(1 for i, j in pairs if y[i] != y[j])
    return (concordant - discordant) / math.sqrt(untied_x * untied_y)


def test_kendall_tau_hand_values():
    # One swapped pair out of six: (5 - 1) / 6.
    out = kendall_tau([1, 2, 3, 4], [1, 3, 2, 4])
    assert out["tau"] == pytest.approx(4 / 6) and out["n"] == 4
    # z = 3 * (2/3) * sqrt(12) / sqrt(26) = 1.3587; two-sided normal p = 0.1742.
    assert out["p_value"] == pytest.approx(0.1742, abs=1e-4)
    # Ties: one pair tied in x, another in y; 4 concordant, 0 discordant: 4 / sqrt(5 * 5).
    assert kendall_tau([1, 1, 2, 3], [1, 2, 2, 3])["tau"] == pytest.approx(0.8)
    assert kendall_tau([1, 2, 3], [3, 2, 1])["tau"] == pytest.approx(-1.0)
    assert math.isnan(kendall_tau([1, 1, 1], [1, 2, 3])["tau"])
    with pytest.raises(EnasError, match="equal length"):
        kendall_tau([1, 2], [1, 2, 3])


def test_kendall_tau_matches_pair_counting_and_scipy():
    x = [0.31, 0.28, 0.35, 0.30, 0.28, 0.40, 0.22]
    y = [0.52, 0.50, 0.49, 0.55, 0.47, 0.60, 0.47]
    tau = kendall_tau(x, y)["tau"]
    assert tau == pytest.approx(_tau_by_counting(x, y))
    scipy_stats = pytest.importorskip("scipy.stats")
    assert tau == pytest.approx(scipy_stats.kendalltau(x, y).statistic)


@pytest.mark.parametrize("preset", ["cifar10_micro_search.smoke", "cifar10_macro_search",
                                    "ptb_rnn_search"])
def test_experiment_json_round_trip(preset):
    cfg = enas_tf2.get_preset(preset)
    obj = json.loads(json.dumps(cfg.to_json()))
    assert experiment_from_json(obj, "experiment.json") == cfg
    obj["run"]["a_field_from_a_newer_version"] = 1
    assert experiment_from_json(obj, "experiment.json") == cfg
    del obj["optim"]
    with pytest.raises(EnasError, match="no 'optim' entry"):
        experiment_from_json(obj, "experiment.json")


def test_rank_errors_are_one_line(tmp_path):
    for args, message in ((["rank", str(tmp_path / "none")], "does not exist"),
                          (["rank", str(tmp_path)], "holds no experiment.json"),
                          (["rank", str(tmp_path), "--archs=2"], "--archs >= 3")):
        proc = run_cli("arch_main", args, timeout=300)
        assert proc.returncode == 2, proc.stderr[-2000:]
        assert len(error_lines(proc)) == 1 and message in error_lines(proc)[0], proc.stderr


@pytest.mark.slow
def test_rank_on_a_real_tiny_search(cifar10_dir, tmp_path):
    run = tmp_path / "search"
    search = run_cli("cnn_main", TINY_SEARCH + [f"--data_path={cifar10_dir}",
                                                f"--output_dir={run}", "--num_epochs=1"])
    assert search.returncode == 0, search.stderr[-3000:]
    proc = run_cli("arch_main", ["rank", str(run), "--archs=3", "--epochs=1",
                                 "--max_steps_per_epoch=2", "--max_eval_batches=1"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.load(open(run / "rank" / "rank.json"))   # analysis output, not the run
    rows = result["rows"]
    assert result["num_archs"] == len(rows) == 3 and result["epochs"] == 1
    assert len({r["tokens"] for r in rows}) == 3
    for row in rows:
        assert 0.0 <= row["shared_reward"] <= 1.0 and 0.0 <= row["standalone_valid"] <= 1.0
        assert (run / "rank" / "arch_0" / "result.json").exists()
    x = [r["shared_reward"] for r in rows]
    y = [r["standalone_valid"] for r in rows]
    if len(set(x)) > 1 and len(set(y)) > 1:
        assert result["kendall_tau"] == pytest.approx(_tau_by_counting(x, y))
    assert "Kendall tau" in proc.stdout
