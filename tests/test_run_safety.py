"""Resume safety: the run folder's lock, the rerun's configuration against the saved one, and the
run context that applies both before anything in the folder is touched."""

import json
import os
import subprocess
import sys
import time

import pytest

from enas_tf2.errors import EnasError
from enas_tf2.runs import run_signature
from enas_tf2.runs.run_lock import LOCK_FILE, RunLock, process_start_ticks


def _sleeper():
    """A live process that is not us (its pid holds a lock in the tests)."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def _write_lock(folder, **info):
    (folder / LOCK_FILE).write_text(json.dumps(info))


# ---- the lock --------------------------------------------------------------------------------------
def test_lock_is_exclusive_and_names_the_holder(tmp_path):
    first = RunLock(str(tmp_path))
    first.acquire()
    info = json.loads((tmp_path / LOCK_FILE).read_text())
    assert info["pid"] == os.getpid() and info["host"]
    with pytest.raises(EnasError) as err:
        RunLock(str(tmp_path)).acquire()
    text = str(err.value)
    assert "in use by another run" in text and f"pid {os.getpid()}" in text
    assert "\n" not in text
    first.release()
    assert not (tmp_path / LOCK_FILE).exists()
    RunLock(str(tmp_path)).acquire()          # free again


def test_live_holder_on_this_host_is_refused(tmp_path):
    proc = _sleeper()
    try:
        import socket
        _write_lock(tmp_path, pid=proc.pid, host=socket.gethostname(),
                    start_ticks=process_start_ticks(proc.pid), started=time.time(),
                    command="enas-cnn --output_dir=x")
        with pytest.raises(EnasError, match=f"pid {proc.pid} on host .*enas-cnn --output_dir=x"):
            RunLock(str(tmp_path)).acquire()
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("case", ["dead_pid", "reused_pid", "torn_file"])
def test_stale_lock_is_taken_over(tmp_path, case):
    import socket
    host = socket.gethostname()
    if case == "dead_pid":
        proc = _sleeper()
        pid, ticks = proc.pid, process_start_ticks(proc.pid)
        proc.kill()
        proc.wait()
        _write_lock(tmp_path, pid=pid, host=host, start_ticks=ticks, started=time.time())
    elif case == "reused_pid":
        # Our own pid with another start time: the pid was reused since the lock was written.
        _write_lock(tmp_path, pid=os.getpid(), host=host,
                    start_ticks=(process_start_ticks(os.getpid()) or 0) + 12345)
    else:
        (tmp_path / LOCK_FILE).write_text('{"pid": 12')       # killed while writing
    lock = RunLock(str(tmp_path))
    lock.acquire()
    assert lock.took_over
    assert json.loads((tmp_path / LOCK_FILE).read_text())["pid"] == os.getpid()
    lock.release()


def test_lock_of_another_host_is_respected(tmp_path):
    _write_lock(tmp_path, pid=1, host="some-other-host", started=time.time())
    with pytest.raises(EnasError, match="some-other-host"):
        RunLock(str(tmp_path)).acquire()


# ---- the configuration comparison ---------------------------------------------------------------
def _experiment(**changes):
    from enas_tf2.api import experiment_identity
    from enas_tf2.configs.presets import get_preset
    import dataclasses
    cfg = get_preset("cifar10_micro_search")
    for section, fields in changes.items():
        cfg = cfg.replace(**{section: dataclasses.replace(getattr(cfg, section), **fields)})
    return experiment_identity(cfg, "search")


def _saved_run(folder, experiment):
    (folder / "ckpt").mkdir(parents=True, exist_ok=True)
    (folder / "ckpt" / "checkpoint").write_text('model_checkpoint_path: "ckpt-1"\n')
    (folder / "experiment.json").write_text(json.dumps(experiment))


def test_structural_changes_are_refused_with_every_field_listed(tmp_path):
    _saved_run(tmp_path, _experiment())
    new = _experiment(space_config={"num_layers": 2, "out_filters": 8},
                      data={"batch_size": 16}, run={"log_every": 7})
    with pytest.raises(EnasError) as err:
        run_signature.check_resume(str(tmp_path), new)
    text = str(err.value)
    assert "\n" not in text
    assert "space_config.num_layers 6 -> 2" in text
    assert "space_config.out_filters 20 -> 8" in text
    assert "data.batch_size 160 -> 16" in text
    assert "log_every" not in text            # harmless: not listed among the refused


def test_harmless_changes_are_accepted_and_returned_for_the_log(tmp_path):
    _saved_run(tmp_path, _experiment())
    new = _experiment(run={"num_epochs": 300, "log_every": 10, "keep_checkpoints": 5,
                           "output_dir": "/elsewhere", "force": True},
                      data={"skip_corrupt_records": True})
    accepted = run_signature.check_resume(str(tmp_path), new)
    assert accepted == ["data.skip_corrupt_records false -> true",
                        "run.keep_checkpoints 2 -> 5", "run.log_every 50 -> 10",
                        "run.num_epochs 150 -> 300"]


def test_same_data_folder_written_differently_is_the_same(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    run = tmp_path / "run"
    _saved_run(run, _experiment(data={"data_path": str(data)}))
    monkeypatch.chdir(tmp_path)
    assert run_signature.check_resume(str(run), _experiment(data={"data_path": "data"})) == []
    with pytest.raises(EnasError, match="data.data_path"):
        run_signature.check_resume(str(run), _experiment(data={"data_path": "other"}))


def test_search_folder_refuses_a_final_run_and_a_changed_arch(tmp_path):
    from enas_tf2.api import experiment_identity, parse_arch
    from enas_tf2.configs.presets import get_preset
    cfg = get_preset("cifar10_micro_final")
    search = tmp_path / "search"
    _saved_run(search, _experiment())
    arch = parse_arch("micro", " ".join(["0"] * 40), cfg.space_config)
    with pytest.raises(EnasError, match="holds a search run, not a final-training run"):
        run_signature.check_resume(str(search), experiment_identity(cfg, "final", arch))
    final = tmp_path / "final"
    _saved_run(final, experiment_identity(cfg, "final", arch))
    other = parse_arch("micro", " ".join(["1"] * 40), cfg.space_config)
    with pytest.raises(EnasError, match="arch '0 0 0"):
        run_signature.check_resume(str(final), experiment_identity(cfg, "final", other))


def test_older_folder_without_kind_is_recognised(tmp_path):
    saved = _experiment()
    del saved["kind"]
    _saved_run(tmp_path, saved)
    assert run_signature.check_resume(str(tmp_path), _experiment()) == []
    (tmp_path / "run_config.json").write_text(json.dumps({"arch": {"tokens": "0"}}))
    with pytest.raises(EnasError, match="final-training run, not a search"):
        run_signature.check_resume(str(tmp_path), _experiment())


# ---- the run context ----------------------------------------------------------------------------
def test_run_context_locks_compares_writes_and_releases(tmp_path):
    import dataclasses

    import tensorflow as tf

    from enas_tf2.configs.base import RunConfig
    from enas_tf2.training.run_context import RunContext
    folder = tmp_path / "run"
    run = RunConfig(output_dir=str(folder))
    strategy = tf.distribute.get_strategy()
    with RunContext(run, strategy, _experiment()) as ctx:
        assert (folder / LOCK_FILE).exists()
        assert not (folder / "experiment.json").exists()     # written once the state is restored
        ctx.open_log(0)
        with pytest.raises(EnasError, match="in use by another run"):
            RunContext(run, strategy, _experiment())
        # --reset_output_dir never wipes a folder another run is using.
        with pytest.raises(EnasError, match="in use"):
            RunContext(dataclasses.replace(run, reset_output_dir=True), strategy, _experiment())
    assert not (folder / LOCK_FILE).exists()
    assert json.loads((folder / "experiment.json").read_text())["kind"] == "search"
    (folder / "ckpt").mkdir()
    (folder / "ckpt" / "checkpoint").write_text("")
    with pytest.raises(EnasError, match="space_config.num_cells 5 -> 3"):
        RunContext(run, strategy, _experiment(space_config={"num_cells": 3}))
    assert not (folder / LOCK_FILE).exists()          # a refused run leaves no lock behind
    assert json.loads((folder / "experiment.json").read_text())["space_config"]["num_cells"] == 5
    ctx = RunContext(run, strategy, _experiment(run={"num_epochs": 9}))
    assert ctx.accepted_changes == ["run.num_epochs 150 -> 9"]
    ctx.close()
    # A reset starts over: no comparison, the old files are gone.
    ctx = RunContext(dataclasses.replace(run, reset_output_dir=True), strategy,
                     _experiment(space_config={"num_cells": 3}))
    assert not (folder / "ckpt").exists()
    ctx.close()


def test_output_dir_that_is_a_file_is_one_line(tmp_path):
    import tensorflow as tf

    from enas_tf2.configs.base import RunConfig
    from enas_tf2.training.run_context import RunContext
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(EnasError, match="is a file, not a folder"):
        RunContext(RunConfig(output_dir=str(path)), tf.distribute.get_strategy(), _experiment())
