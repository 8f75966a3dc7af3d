"""Run-folder bookkeeping: progress.jsonl de-duplication on resume, atomic JSON, checkpoints."""

import json
import os

import pytest
import tensorflow as tf

from enas_tf2.errors import EnasError
from enas_tf2.runs.checkpointing import RunCheckpoint, prepare_output_dir
from enas_tf2.json_file import read_jsonl, write_json
from enas_tf2.training.run_log import RunLog, format_duration


def test_progress_rows_of_rerun_epochs_are_dropped(tmp_path):
    log = RunLog(str(tmp_path), resume_epoch=0)
    for epoch in (1, 2, 3):
        log.epoch({"epoch": epoch, "child_loss": 1.0 / epoch})
    # A kill after epoch 3's row but before its checkpoint: the checkpoint says 2 epochs are done.
    log2 = RunLog(str(tmp_path), resume_epoch=2)
    log2.epoch({"epoch": 3, "child_loss": 0.3})
    rows = read_jsonl(log2.progress_path)
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert rows[2]["child_loss"] == 0.3


def test_torn_last_line_is_ignored(tmp_path):
    path = tmp_path / "progress.jsonl"
    path.write_text('{"epoch": 0}\n{"epoch": 1}\n{"epo')
    assert read_jsonl(str(path)) == [{"epoch": 0}, {"epoch": 1}]


def test_write_json_is_atomic_and_readable(tmp_path):
    path = str(tmp_path / "a.json")
    write_json(path, {"x": tf.constant(3), "y": [1.5]})
    assert json.load(open(path)) == {"x": 3, "y": [1.5]}
    assert not os.path.exists(path + ".tmp")


def test_format_duration():
    assert format_duration(9.7) == "9s"
    assert format_duration(252) == "4m12s"
    assert format_duration(3 * 3600 + 5 * 60) == "3h05m"


def test_checkpoint_resume_and_worker_copies(tmp_path):
    step = tf.Variable(5, dtype=tf.int64)
    ckpt = RunCheckpoint(str(tmp_path / "ckpt"), step=step)
    assert ckpt.restore_latest() is None
    ckpt.save(1)
    step.assign(99)
    assert ckpt.restore_latest().endswith("ckpt-1")
    assert int(step.numpy()) == 5
    # A non-chief restores the chief's checkpoint and leaves no files of its own behind.
    other = tf.Variable(0, dtype=tf.int64)
    worker = RunCheckpoint(str(tmp_path / "ckpt"), is_chief=False, worker_index=1, step=other)
    worker.restore_latest()
    assert int(other.numpy()) == 5
    worker.save(2)
    assert not os.path.exists(worker.directory)


def test_incompatible_checkpoint_is_one_clear_error(tmp_path):
    RunCheckpoint(str(tmp_path / "ckpt"), step=tf.Variable([1.0, 2.0])).save(1)
    ckpt = RunCheckpoint(str(tmp_path / "ckpt"), step=tf.Variable([1.0, 2.0, 3.0]))
    with pytest.raises(EnasError, match="be restored"):
        ckpt.restore_latest()


def test_prepare_output_dir_only_wipes_when_asked(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    prepare_output_dir(str(out), reset=False)
    assert (out / "keep.txt").exists()
    prepare_output_dir(str(out), reset=True)
    assert not (out / "keep.txt").exists() and out.exists()
