"""`enas-cnn --search_for=macro` end to end on the real CIFAR-10 subset: a search killed with
kill -9 and resumed, then the PUBLISHED 24-layer macro network (narrowed to 8 filters) trained from
the command line, exported and asked about a real photo in fresh processes."""

import json
import os
import signal
import subprocess
import sys

import pytest

from cli_runner import error_lines, run_cli

TINY_MACRO = ["--search_for=macro", "--valid_size=200", "--batch_size=16", "--eval_batch_size=50",
              "--child_num_layers=4", "--child_out_filters=4", "--max_steps_per_epoch=3",
              "--max_eval_batches=1", "--log_every=2", "--controller_train_steps=2",
              "--controller_num_aggregate=2", "--derive_num_samples=3"]


def _epochs(out):
    path = os.path.join(out, "progress.jsonl")
    return [json.loads(line)["epoch"] for line in open(path)] if os.path.exists(path) else []


# Slow: kill-and-resume is in the default suite for micro (test_relative_paths, test_exact_resume).
@pytest.mark.slow
def test_macro_search_is_killed_resumes_and_writes_arch(cifar10_dir, tmp_path):
    out = str(tmp_path / "search")
    args = TINY_MACRO + [f"--data_path={cifar10_dir}", f"--output_dir={out}", "--num_epochs=2"]
    proc = subprocess.Popen([sys.executable, "-m", "enas_tf2.cli.cnn_main", *args],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    seen = []
    try:
        for line in proc.stderr:
            seen.append(line)
            if "epoch 2/2 step 2/3" in line:
                os.kill(proc.pid, signal.SIGKILL)
                break
    finally:
        proc.wait(timeout=600)
    assert proc.returncode == -signal.SIGKILL, "".join(seen[-20:])
    assert _epochs(out) == [1]

    done = run_cli("cnn_main", args)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "resumed from" in done.stderr
    assert _epochs(out) == [1, 2]
    rows = [json.loads(line) for line in open(os.path.join(out, "progress.jsonl"))]
    assert [r["step"] for r in rows] == [3, 6]
    # The controller's histogram counts skips next to the six ops.
    assert "skip" in rows[0]["op_hist"] and "max_pool_3x3" in rows[0]["op_hist"]
    arch = json.load(open(os.path.join(out, "arch.json")))
    assert arch["search_space"] == "macro"
    assert len(arch["tokens"].split()) == 4 + 4 * 3 // 2        # L + L(L-1)/2 tokens
    # arch.json holds the best of the derive candidates (not merely a number in [0, 1]).
    derived = [json.loads(line) for line in open(os.path.join(out, "archs.jsonl"))]
    derived = [r for r in derived if r["kind"] == "derive"]
    assert len(derived) == 3                                   # --derive_num_samples=3
    best = max(derived, key=lambda r: r["reward"])
    assert (arch["tokens"], arch["reward"]) == (best["tokens"], best["reward"])
    assert arch["reward"] == pytest.approx(arch["score"], abs=1e-6)   # reward = accuracy (f32)
    for name in ("arch.png", "arch.svg", "summary.json", "report.html"):
        assert os.path.exists(os.path.join(out, name)), name


# Slow (about 45 s): macro final + export + predict stay in the default suite through
# tests/test_macro_stem.py::test_macro_search_final_export_predict_on_real_photos.
@pytest.mark.slow
def test_published_macro_net_trains_exports_and_predicts(cifar10_dir, flowers_dir, tmp_path):
    script = os.path.join(os.path.dirname(__file__), "..", "scripts", "cifar10_macro_final.sh")
    published = open(script).read().split('PUBLISHED="')[1].split('"')[0]
    train_dir, export_dir = str(tmp_path / "final"), str(tmp_path / "export")
    train = run_cli("cnn_main", [
        "--config=cifar10_macro_final", f"--child_fixed_arc={published}",
        f"--data_path={cifar10_dir}", f"--output_dir={train_dir}", "--valid_size=200",
        "--child_out_filters=8", "--batch_size=16", "--eval_batch_size=50", "--num_epochs=1",
        "--max_steps_per_epoch=3", "--max_eval_batches=1", "--log_every=3"])
    assert train.returncode == 0, train.stderr[-3000:]
    config = json.load(open(os.path.join(train_dir, "run_config.json")))
    assert config["search_space"] == "macro" and config["space_config"]["num_layers"] == 24
    assert len(config["arch"]["tokens"].split()) == 300
    assert os.path.exists(os.path.join(train_dir, "arch.png"))

    export = run_cli("export_main", [f"--output_dir={train_dir}", f"--export_dir={export_dir}"])
    assert export.returncode == 0, export.stderr[-3000:]
    photo = os.path.join(flowers_dir, "tulips", sorted(os.listdir(flowers_dir / "tulips"))[0])
    predict = run_cli("predict_main", [f"--model_dir={export_dir}", "--top_k=2", "--json", photo])
    assert predict.returncode == 0, predict.stderr[-3000:]
    (entry,) = json.loads(predict.stdout)
    assert len(entry["top_k"]) == 2
    assert all(c["class_name"] in config["data"]["class_names"] for c in entry["top_k"])


def test_macro_bad_inputs_are_one_line(cifar10_dir, tmp_path):
    base = TINY_MACRO + [f"--data_path={cifar10_dir}", f"--output_dir={tmp_path}/run"]
    for extra, message in ((["--child_num_cells=3"], "does not apply to the macro"),
                           (["--child_fixed_arc=0 1 0 7 1 0"], "layer"),
                           (["--child_num_branches=5"], "exactly 6")):
        proc = run_cli("cnn_main", base + extra, timeout=300)
        assert proc.returncode == 2, proc.stderr[-2000:]
        (line,) = error_lines(proc)
        assert message in line, line
