"""Issue 22: the cost-aware reward (`enas_tf2.cost.objective`), its way into the controller step
and derive, latency tables (loading, refusing another image size, summing), the Pareto front."""

import json

import numpy as np
import pytest
import tensorflow as tf

from enas_tf2.configs.base import ObjectiveConfig
from enas_tf2.cost.objective import Objective, cost_reward
from enas_tf2.cost.pareto import pareto_front
from enas_tf2.data.specs import ImageSpec
from enas_tf2.errors import EnasError
from enas_tf2.search_space.registry import get_space

SPEC = ImageSpec(32, 32, 10)
CHEAP = "|skip_connect~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"
DEAR = ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|"
        "nor_conv_3x3~2|")


def _space():
    from enas_tf2.search_space.nb201.config import Nb201Config
    return get_space("nb201", Nb201Config(num_layers=1, out_filters=8))


def test_soft_reward_is_mnasnet_and_hard_reward_penalises_the_excess():
    assert cost_reward(0.8, 2.0, 2.0) == pytest.approx(0.8)
    assert cost_reward(0.8, 4.0, 2.0) == pytest.approx(0.8 * 2 ** -0.07)      # over: penalty
    assert cost_reward(0.8, 1.0, 2.0) == pytest.approx(0.8 * 2 ** 0.07)       # under: bonus
    assert cost_reward(0.8, 4.0, 2.0, weight=-1.0) == pytest.approx(0.4)
    assert cost_reward(0.8, 2.0, 2.0, constraint="hard") == 0.8
    assert cost_reward(0.8, 1.0, 2.0, constraint="hard") == 0.8          # no bonus under it
    assert cost_reward(0.8, 4.0, 2.0, constraint="hard") == pytest.approx(0.4)  # beta = -1


def test_bad_objective_settings_are_one_line_errors():
    with pytest.raises(EnasError, match="unknown --objective='flops'"):
        ObjectiveConfig(kind="flops")
    with pytest.raises(EnasError, match="--cost_target=0 must be > 0 with --objective=params"):
        ObjectiveConfig(kind="params", target=0)
    with pytest.raises(EnasError, match="--cost_target=-1 must be > 0"):
        ObjectiveConfig(kind="latency", target=-1, latency_table="t.json")
    with pytest.raises(EnasError, match="needs --latency_table"):
        ObjectiveConfig(kind="latency", target=1.0)
    with pytest.raises(EnasError, match="soft or hard"):
        ObjectiveConfig(kind="macs", target=1.0, constraint="strict")


def test_objective_rewards_cheap_cells_and_the_tensor_path_agrees():
    space = _space()
    cheap, dear = space.arch_from_tokens(CHEAP), space.arch_from_tokens(DEAR)
    macs = {a: space.arch_cost(a, SPEC).macs / 1e6 for a in (cheap, dear)}
    target = (macs[cheap] + macs[dear]) / 2
    soft = Objective(ObjectiveConfig("macs", target), space, SPEC)
    assert soft.reward(0.5, cheap) == pytest.approx(0.5 * (macs[cheap] / target) ** -0.07)
    assert soft.reward(0.5, cheap) > 0.5 > soft.reward(0.5, dear)
    hard = Objective(ObjectiveConfig("macs", target, constraint="hard"), space, SPEC)
    assert hard.reward(0.5, cheap) == 0.5
    assert hard.reward(0.5, dear) == pytest.approx(0.5 * target / macs[dear])
    traced = tf.function(lambda acc, arch: hard.reward_tensor(acc, arch))
    for arch in (cheap, dear):
        assert float(traced(tf.constant(0.5), tf.constant(arch.to_array()))) == \
            pytest.approx(hard.reward(0.5, arch), rel=1e-6)          # float32 in the graph
    accuracy = Objective(ObjectiveConfig(), space, SPEC)
    assert accuracy.reward(0.5, dear) == 0.5 and not accuracy.active
    # Derive's key under the hard constraint: within the target first, whatever the reward;
    # among infeasible ones the cheapest; the soft key is the reward.
    rows = [{"reward": 0.9, "arch": dear}, {"reward": 0.1, "arch": cheap}]
    assert max(rows, key=hard.rank_key)["arch"] is cheap
    assert max(rows, key=soft.rank_key)["arch"] is dear
    tight = Objective(ObjectiveConfig("macs", macs[cheap] / 2, constraint="hard"), space, SPEC)
    assert max(rows, key=tight.rank_key)["arch"] is cheap


def test_arch_scorer_applies_the_objective_to_scored_architectures():
    from enas_tf2.tasks.image_classification import ImageClassificationTask
    from enas_tf2.configs.base import DataConfig, OptimizerConfig
    from enas_tf2.training.arch_scoring import ArchScorer
    space = _space()
    objective = Objective(ObjectiveConfig("params", 1e-6, constraint="hard"), space, SPEC)
    task = ImageClassificationTask(DataConfig(), OptimizerConfig())

    def score_step(batch, arch):
        return {"correct": tf.constant(7.0), "count": tf.constant(10.0)}
    arch = tf.constant(space.arch_from_tokens(CHEAP).to_array())
    plain = ArchScorer(score_step, task).score(arch, [None, None])
    shaped = ArchScorer(score_step, task, objective).score(arch, [None, None])
    assert plain["reward"] == pytest.approx(0.7) and plain["score"] == pytest.approx(0.7)
    params = space.arch_cost(space.arch_from_tokens(CHEAP), SPEC).params / 1e6
    assert shaped["reward"] == pytest.approx(0.7 * 1e-6 / params)           # far over target
    assert shaped["score"] == pytest.approx(0.7)


def _table(tmp_path, size=(32, 32), entries=None):
    from enas_tf2.cost.latency_table import KIND
    path = tmp_path / "table.json"
    path.write_text(json.dumps({
        "kind": KIND, "space": "nb201", "space_config": {}, "image_size": list(size),
        "num_classes": 10, "threads": 1, "precision": "float32", "interpreter": "x",
        "entries": entries or {}}))
    return str(path)


def test_latency_table_sums_blocks_and_refuses_another_image_size(tmp_path):
    from enas_tf2.cost.latency_table import LatencyTable
    space = _space()
    arch = space.arch_from_tokens(DEAR)
    blocks = space.latency_blocks(arch, SPEC)
    entries = {b.key: 0.5 for b in blocks}
    entries[blocks[0].key] = 2.0                                   # the stem
    table = LatencyTable.load(_table(tmp_path, entries=entries), (32, 32), "nb201")
    assert table.predict_ms(blocks) == pytest.approx(2.0 + 0.5 * (len(blocks) - 1))
    with pytest.raises(EnasError, match=r"measured for 32x32 images, but this run uses 16x16"):
        LatencyTable.load(_table(tmp_path), (16, 16))
    with pytest.raises(EnasError, match="for the nb201 space, not micro"):
        LatencyTable.load(_table(tmp_path), (32, 32), "micro")
    with pytest.raises(EnasError, match="has no entry for"):
        LatencyTable.load(_table(tmp_path), (32, 32)).predict_ms(blocks)


def test_latency_blocks_skip_what_the_converter_folds():
    space = _space()
    # Node 1 is zeros (no inputs): the conv reading it only is a constant, folded away.
    folded = space.arch_from_tokens(
        "|none~0|+|skip_connect~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|")
    keys = [b.key for b in space.latency_blocks(folded, SPEC)]
    assert not any(k.startswith("nor_conv_3x3") for k in keys)
    assert space.latency_blocks(space.arch_from_tokens(
        "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"), SPEC) == []  # a constant net


def test_pareto_front_keeps_rows_nobody_beats():
    rows = [{"tokens": t, "score": s, "cost": c} for t, s, c in
            [("a", 0.5, 1.0), ("b", 0.6, 2.0), ("c", 0.55, 3.0), ("d", 0.7, 4.0),
             ("a", 0.5, 1.0)]]
    assert [r["tokens"] for r in pareto_front(rows)] == ["a", "b", "d"]


def test_latency_objective_reads_the_table(tmp_path):
    from enas_tf2.cost.latency_table import distinct_blocks
    space = _space()
    entries = {b.key: 0.1 for b in distinct_blocks(space, SPEC, num_archs=50)}
    objective = Objective(ObjectiveConfig("latency", 1.0, latency_table=_table(
        tmp_path, entries=entries)), space, SPEC)
    arch = space.arch_from_tokens(DEAR)
    assert objective.cost_value(arch) == pytest.approx(
        0.1 * len(space.latency_blocks(arch, SPEC)))
    assert objective.cost_of(arch)["latency_ms"] == pytest.approx(objective.cost_value(arch))
    with pytest.raises(EnasError, match="measured for 32x32"):
        Objective(ObjectiveConfig("latency", 1.0, latency_table=_table(tmp_path)), space,
                  ImageSpec(16, 16, 10))


@pytest.mark.slow
def test_cost_aware_search_end_to_end(tmp_path, cifar10_dir):
    """A real nb201 smoke search under a hard parameter target: the derived cell meets it,
    arch.json holds its cost and the derive block the Pareto front, the report plots it."""
    from cli_runner import run_cli
    out = tmp_path / "search"
    proc = run_cli("cnn_main", ["--config=cifar10_nb201_search.smoke",
                                f"--data_path={cifar10_dir}", f"--output_dir={out}",
                                "--objective=params", "--cost_target=0.025",
                                "--cost_constraint=hard", "--nopreflight"], timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    arch = json.loads((out / "arch.json").read_text())
    assert arch["cost"]["params"] <= 25_000
    cost = arch["derive"]["cost"]
    assert cost["unit"] == "M params" and cost["target"] == 0.025
    assert cost["pareto"] and all(r["cost"] is not None for r in cost["scored"])
    assert all(r["reward"] == pytest.approx(r["score"] * 0.025 / r["cost"])
               for r in cost["scored"] if r["cost"] > 0.025)
    assert "chart-pareto" in (out / "report.html").read_text()


def test_latency_blocks_skip_nodes_the_output_never_reads():
    space = _space()
    # Node 3 is node 0 alone: nodes 1 and 2 are dead code, the converter drops their convs.
    dead = space.arch_from_tokens(
        "|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+|skip_connect~0|none~1|none~2|")
    keys = [b.key for b in space.latency_blocks(dead, SPEC)]
    assert not any(k.startswith(("nor_conv", "add")) for k in keys)
