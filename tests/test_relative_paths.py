"""Paths as users type them: every console script and the API with RELATIVE folders (``runs/x``,
``./runs/x``, ``../x``) from a working directory other than the one the run started in, a run
killed with kill -9 and rerun with the same relative ``--output_dir`` (it must resume, not
advise deleting the run), and analysis commands that leave the run's files byte-identical."""

import dataclasses
import hashlib
import os
import signal
import subprocess
import sys

import pytest

from cli_runner import TINY_SEARCH, run_cli

PTB_TINY = ["--config=ptb_rnn_search.smoke", "--child_rhn_depth=4", "--max_steps_per_epoch=4",
            "--controller_train_steps=2", "--controller_num_aggregate=2",
            "--derive_num_samples=3", "--child_lstm_hidden_size=16", "--batch_size=8",
            "--eval_batch_size=8", "--max_eval_batches=2", "--log_every=1"]


def _hashes(folder):
    """sha256 of every file under `folder` (relative names): a run's byte-identical state."""
    out = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, folder)] = hashlib.sha256(f.read()).hexdigest()
    return out


def _kill_after_checkpoint(module, args, cwd, folder):
    """Starts ``python -m enas_tf2.cli.MODULE ARGS`` in `cwd` and kill -9s it once its first
    checkpoint exists; returns the lines it printed."""
    proc = subprocess.Popen([sys.executable, "-m", f"enas_tf2.cli.{module}", *args], cwd=cwd,
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    seen = []
    try:
        for line in proc.stderr:
            seen.append(line)
            if os.path.exists(os.path.join(folder, "ckpt", "checkpoint")) and " step " in line:
                os.kill(proc.pid, signal.SIGKILL)
                break
    finally:
        proc.wait(timeout=600)
    assert proc.returncode == -signal.SIGKILL, "".join(seen[-20:])
    return seen


@pytest.mark.parametrize("output_dir", ["runs/cnn", pytest.param("./runs/cnn",
                                                                   marks=pytest.mark.slow)])
def test_cnn_search_killed_and_rerun_with_a_relative_folder_resumes(cifar10_dir, tmp_path,
                                                                    output_dir):
    work = tmp_path / "work"
    work.mkdir()
    data = os.path.relpath(cifar10_dir, work)                      # ../../.. style
    args = TINY_SEARCH + [f"--data_path={data}", f"--output_dir={output_dir}", "--num_epochs=2",
                          "--checkpoint_every_steps=1", "--max_steps_per_epoch=6"]
    _kill_after_checkpoint("cnn_main", args, str(work), str(work / "runs" / "cnn"))
    done = run_cli("cnn_main", args, cwd=str(work))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "resumed from runs/cnn/ckpt/ckpt-" in done.stderr.replace("./runs", "runs")
    assert "reset_output_dir" not in done.stderr
    assert (work / "runs" / "cnn" / "arch.json").exists()


@pytest.mark.slow   # PTB vocabulary: about a minute of CPU
def test_ptb_search_killed_and_rerun_with_a_relative_folder_resumes(ptb_dir, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    args = PTB_TINY + [f"--data_path={os.path.relpath(ptb_dir, work)}", "--output_dir=runs/ptb",
                       "--num_epochs=2", "--checkpoint_every_steps=1"]
    _kill_after_checkpoint("ptb_main", args, str(work), str(work / "runs" / "ptb"))
    done = run_cli("ptb_main", args, cwd=str(work))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "resumed from runs/ptb/ckpt/ckpt-" in done.stderr
    assert (work / "runs" / "ptb" / "arch.json").exists()


@pytest.mark.slow   # nine console-script processes: about 4 min on a busy 2-core host
def test_final_export_predict_and_arch_from_other_folders(cifar10_dir, flowers_dir, tmp_path):
    """A search and a final run started in work/, then analysed from elsewhere with relative
    paths; every command that only reads leaves the run folders byte-identical."""
    work, other = tmp_path / "work", tmp_path / "elsewhere"
    work.mkdir()
    other.mkdir()
    data = os.path.relpath(cifar10_dir, work)
    search = run_cli("cnn_main", TINY_SEARCH + [f"--data_path={data}", "--output_dir=runs/s",
                                                "--num_epochs=1"], cwd=str(work))
    assert search.returncode == 0, search.stderr[-3000:]
    final = run_cli("cnn_main", [
        "--config=cifar10_micro_final", "--arch_json=runs/s/arch.json", f"--data_path={data}",
        "--output_dir=runs/f", "--child_num_layers=2", "--child_out_filters=4",
        "--child_num_cells=2", "--nochild_use_aux_heads", "--valid_size=0", "--batch_size=16",
        "--eval_batch_size=50", "--max_steps_per_epoch=2", "--max_eval_batches=1",
        "--num_epochs=1"], cwd=str(work))
    assert final.returncode == 0, final.stderr[-3000:]
    runs = work / "runs"
    before = {name: _hashes(runs / name) for name in ("s", "f")}

    for args in (["show", "../work/runs/s"], ["show", "../work/runs/f"],
                 ["render", "../work/runs/s"], ["report", "../work/runs/s"],
                 ["diff", "../work/runs/s", "../work/runs/s/arch.json"],
                 ["rank", "../work/runs/s", "--archs=3", "--epochs=1",
                  "--max_steps_per_epoch=1", "--max_eval_batches=1"]):
        proc = run_cli("arch_main", args, cwd=str(other))
        assert proc.returncode == 0, (args, proc.stderr[-3000:])
    export = run_cli("export_main", ["--output_dir=../work/runs/f", "--export_dir=exports/m"],
                     cwd=str(other))
    assert export.returncode == 0, export.stderr[-3000:]
    photo = os.path.relpath(next((flowers_dir / "roses").glob("*.jpg")), work)
    predict = run_cli("predict_main", ["--model_dir=../elsewhere/exports/m", photo],
                      cwd=str(work))
    assert predict.returncode == 0, predict.stderr[-3000:]
    assert "1." in predict.stdout
    after = {name: _hashes(runs / name) for name in ("s", "f")}
    for name in ("s", "f"):
        changed = [k for k in before[name] if after[name].get(k) != before[name][k]]
        assert not changed, f"analysis edited run {name}: {changed}"
    added = sorted(set(after["s"]) - set(before["s"]))
    assert added and all(k.startswith(("analysis/", "rank/")) for k in added), added
    assert set(after["f"]) == set(before["f"])


# Slow: the default suite keeps the CLI kill-and-resume with relative folders.
@pytest.mark.slow
def test_api_twice_with_a_relative_folder_resumes(cifar10_dir, tmp_path, monkeypatch):
    import io
    import logging

    from test_faults import tiny_final, train
    monkeypatch.chdir(tmp_path)
    cfg = tiny_final(os.path.relpath(cifar10_dir, tmp_path), "runs/api", 1)
    train(cfg)
    again = cfg.replace(run=dataclasses.replace(cfg.run, num_epochs=2))
    # Our own handler: an in-process CLI test earlier in the session may have set the logger
    # not to propagate to the root logger, where pytest's caplog listens.
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    logger = logging.getLogger("enas_tf2")
    logger.addHandler(handler)
    try:
        result = train(again)
    finally:
        logger.removeHandler(handler)
    assert "resumed from runs/api/ckpt/ckpt-1" in lines.getvalue()
    assert result.output_dir == "runs/api" and (tmp_path / "runs/api/result.json").exists()
