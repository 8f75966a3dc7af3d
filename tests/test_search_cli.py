"""`enas-cnn` micro search end to end on the real CIFAR-10 subset: outputs, kill -9 and resume,
NaN stop that keeps the last checkpoint, and one clear line for each kind of bad input."""

import json
import os
import signal
import subprocess
import sys

import pytest

from cli_runner import TINY_SEARCH, error_lines, run_cli


def _search_args(cifar10_dir, out, epochs):
    return TINY_SEARCH + [f"--data_path={cifar10_dir}", f"--output_dir={out}",
                          f"--num_epochs={epochs}"]


def _progress_epochs(out):
    path = os.path.join(out, "progress.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line)["epoch"] for line in f if line.strip()]


# Slow (about 70 s): the default suite covers resume after kills with tests/test_exact_resume.py
# and a real kill -9 of the CLI with tests/test_macro_cli.py, the NaN stop with test_bad_inputs.py.
@pytest.mark.slow
def test_search_runs_resumes_after_kill_and_stops_on_nan(cifar10_dir, tmp_path):
    out = str(tmp_path / "search")
    args = _search_args(cifar10_dir, out, epochs=3)
    # 1) Start, and kill -9 in the middle of the SECOND epoch (its first step line is printed).
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.Popen([sys.executable, "-m", "enas_tf2.cli.cnn_main", *args],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
    seen = []
    try:
        for line in proc.stderr:
            seen.append(line)
            if "epoch 2/3 step 2/3" in line:
                os.kill(proc.pid, signal.SIGKILL)
                break
    finally:
        proc.wait(timeout=600)
    assert proc.returncode == -signal.SIGKILL, "".join(seen[-20:])
    assert _progress_epochs(out) == [1]
    assert not os.path.exists(os.path.join(out, "arch.json"))

    # 2) The same command resumes at epoch 1 and finishes; every epoch is recorded once.
    done = run_cli("cnn_main", args)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "resumed from" in done.stderr and "at epoch 1" in done.stderr
    assert _progress_epochs(out) == [1, 2, 3]
    rows = [json.loads(line) for line in open(os.path.join(out, "progress.jsonl"))]
    for key in ("epoch", "step", "child_loss", "child_acc", "valid_acc", "reward_mean",
                "baseline", "entropy", "seconds"):
        assert all(row.get(key) is not None for row in rows), key
    assert [row["step"] for row in rows] == [3, 6, 9]
    arch = json.load(open(os.path.join(out, "arch.json")))
    assert arch["search_space"] == "micro"
    assert len(arch["tokens"].split()) == 16 and len(arch["normal"]) == 2
    assert {"controller_mean_reward", "random_mean_reward"} <= set(arch["derive"])
    logged = [json.loads(line) for line in open(os.path.join(out, "archs.jsonl"))]
    kinds = {row["kind"] for row in logged}
    # arch.json holds the best of the derive candidates (not merely a number in [0, 1]).
    best = max((r for r in logged if r["kind"] == "derive"), key=lambda r: r["reward"])
    assert (arch["tokens"], arch["reward"]) == (best["tokens"], best["reward"])
    assert {"controller", "epoch_sample", "derive", "derive_random"} <= kinds
    assert os.listdir(os.path.join(out, "tensorboard"))
    assert os.path.exists(os.path.join(out, "ckpt", "ckpt-3.index"))

    # 3) A diverging continuation stops with one line; the last good checkpoint stays.
    nan = run_cli("cnn_main", _search_args(cifar10_dir, out, epochs=4) + [
        "--child_lr_max=1e30", "--child_lr_min=1e30", "--child_grad_bound=0"])
    assert nan.returncode == 2, nan.stderr[-2000:]
    (line,) = error_lines(nan)
    assert "loss is nan" in line.lower() or "loss is inf" in line.lower()
    assert "Traceback" not in nan.stderr
    assert _progress_epochs(out) == [1, 2, 3]
    assert os.path.exists(os.path.join(out, "ckpt", "ckpt-3.index"))


BAD_INPUTS = [
    (["--search_for=macro"], "macro"),
    (["--strategy=tpu"], "unknown --strategy"),
    (["--strategy=mirrored", "--num_cpu_devices=2", "--batch_size=15"], "not divisible"),
    (["--image_size=12x"], "malformed --image_size"),
    (["--image_size=4"], "too small"),
    (["--child_fixed_arc=0 1 0 1 0 9"], "token"),
    (["--child_fixed_arc=0 0 0 0 1 1 1 1 0 0 0 0 1 1 1 1", "--arch_json=x.json"], "not both"),
    (["--arch_json=/nonexistent/arch.json"], "cannot read --arch_json"),
]


@pytest.mark.parametrize("extra,message", BAD_INPUTS, ids=[m for _, m in BAD_INPUTS])
def test_bad_input_is_one_clear_line(cifar10_dir, tmp_path, extra, message):
    args = _search_args(cifar10_dir, str(tmp_path / "run"), 1) + extra
    proc = run_cli("cnn_main", args, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = error_lines(proc)
    assert len(lines) == 1 and message in lines[0], proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr


def test_missing_data_is_one_clear_line(tmp_path):
    proc = run_cli("cnn_main", TINY_SEARCH + [f"--data_path={tmp_path}/nothing",
                                              f"--output_dir={tmp_path}/run"], timeout=300)
    assert proc.returncode == 2
    (line,) = error_lines(proc)
    assert "nothing" in line and "Traceback" not in proc.stderr


def test_unknown_search_space_flag_is_rejected(tmp_path):
    proc = run_cli("cnn_main", ["--search_for=rnn", f"--output_dir={tmp_path}"], timeout=300)
    assert proc.returncode != 0
    assert "search_for" in proc.stderr and "Traceback" not in proc.stderr
