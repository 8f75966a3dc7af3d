"""A run folder given as a RELATIVE path resumes: the checkpoint index stores relative names,
which TensorFlow already prefixes with the folder (joining them again once broke every resume
of ``--output_dir=runs/x``, found by tests/test_nb201_cli.py)."""

import os

import tensorflow as tf

from enas_tf2.runs.checkpointing import RunCheckpoint


def test_relative_checkpoint_folder_restores(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    value = tf.Variable(3.0)
    saver = RunCheckpoint(os.path.join("runs", "x", "ckpt"), value=value)
    saver.save()
    value.assign(7.0)
    saver.save()
    restored = tf.Variable(0.0)
    again = RunCheckpoint(os.path.join("runs", "x", "ckpt"), value=restored)
    assert [os.path.basename(p) for p in again.saved_paths()] == ["ckpt-1", "ckpt-2"]
    assert all(os.path.exists(p + ".index") for p in again.saved_paths())
    assert again.restore_latest().endswith("ckpt-2") and float(restored.numpy()) == 7.0
