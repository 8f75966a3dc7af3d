"""One worker of a two-worker `MultiWorkerMirroredStrategy` run is killed: the other stops with one
line naming the lost worker and the kept checkpoint (TensorFlow's coordination service notices
the missing heartbeats), and rerunning both workers resumes from the last checkpoint, the dead
chief's stale lock taken over."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

FINAL = ["--config=cifar10_micro_final", "--child_fixed_arc=0 1 1 0 2 4 0 2 1 2 1 0 0 2 1 1",
         "--child_num_cells=2", "--child_num_layers=2", "--child_out_filters=4",
         "--nochild_use_aux_heads", "--valid_size=0", "--batch_size=16", "--eval_batch_size=50",
         "--max_steps_per_epoch=4", "--max_eval_batches=1", "--log_every=2",
         "--strategy=multi_worker"]


def _free_ports(count):
    socks = [socket.socket() for _ in range(count)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _start_workers(args, logs):
    cluster = {"worker": [f"127.0.0.1:{p}" for p in _free_ports(2)]}
    procs = []
    for index in range(2):
        env = dict(os.environ, TF_CONFIG=json.dumps({"cluster": cluster,
                                                     "task": {"type": "worker", "index": index}}))
        procs.append(subprocess.Popen([sys.executable, "-m", "enas_tf2.cli.cnn_main", *args],
                                      stdout=subprocess.DEVNULL, stderr=open(logs[index], "w"),
                                      env=env))
    return procs


@pytest.mark.slow   # two 2-process runs, ~3 min on a busy 2-core host
def test_killed_chief_stops_the_job_and_the_rerun_resumes(cifar10_dir, tmp_path):
    out = tmp_path / "mw"
    args = FINAL + [f"--data_path={cifar10_dir}", f"--output_dir={out}"]
    logs = [tmp_path / "w0.log", tmp_path / "w1.log"]
    procs = _start_workers(args + ["--num_epochs=50"], logs)
    try:
        deadline = time.time() + 600
        while not (out / "ckpt" / "ckpt-2.index").exists():
            assert time.time() < deadline and procs[1].poll() is None, logs[1].read_text()[-3000:]
            time.sleep(0.05)
        procs[0].send_signal(signal.SIGKILL)
        start = time.time()
        assert procs[1].wait(timeout=300) == 2
        stopped_after = time.time() - start
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    errors = [line for line in logs[1].read_text().splitlines() if line.startswith("error:")]
    assert errors == [errors[0]] and "Traceback" not in logs[1].read_text()
    assert "worker 0 of the cluster stopped" in errors[0]
    assert "/ckpt/ckpt-" in errors[0] and "is kept and loadable" in errors[0]
    assert stopped_after < 120           # noticed by missing heartbeats, not a hang
    kept = int(errors[0].split("/ckpt/ckpt-")[1].split()[0])
    assert kept >= 2
    assert (out / "run.lock").exists()    # the killed chief could not remove it

    procs = _start_workers(args + [f"--num_epochs={kept + 1}"], logs)
    codes = [proc.wait(timeout=900) for proc in procs]
    chief_log = logs[0].read_text()
    assert codes == [0, 0], chief_log[-3000:]
    assert "took over the lock of a run that is no longer running" in chief_log
    assert f"resumed from {out}/ckpt/ckpt-{kept} at epoch {kept}" in chief_log
    epochs = [json.loads(line)["epoch"] for line in open(out / "progress.jsonl")]
    assert epochs == list(range(1, kept + 2))
    assert not (out / "run.lock").exists()
