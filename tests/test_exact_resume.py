"""Exact resume (issue 13): mid-epoch checkpoints, positional data streams, a kill at any step.

A "kill" here is an exception raised right after a mid-epoch checkpoint (the process state after
it is thrown away, as after `kill -9`); the rerun must end where the uninterrupted run ends. In
this process oneDNN's CPU kernels are on (they are fast and their rounding may differ between
runs), so checkpoint tensors are compared to 1e-6; the bit-identical comparison of separate
processes with ``--deterministic`` is `bench/kill_resume.py` (slow test at the end).
"""

import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import enas_tf2
from enas_tf2.configs.base import DataConfig
from enas_tf2.runs import resume_point

TIMING = ("seconds", "img_per_s", "tok_per_s")


def _arrays(dataset, count):
    return [tuple(np.asarray(t) for t in tf.nest.flatten(b)) for b in dataset.take(count)]


def test_cifar_streams_start_at_any_batch(cifar10_dir):
    """Batch n of a stream rebuilt at position k equals batch k + n of the stream from 0,
    across a pass boundary (augmented training and shuffled reward batches)."""
    from enas_tf2.data.images.pipeline import build_data
    cfg = DataConfig(dataset="cifar10", data_path=str(cifar10_dir), valid_size=500,
                     batch_size=128, eval_batch_size=100, cutout_size=8)
    data = build_data(cfg)
    per_pass = 3500 // 128                       # 27 full batches: batch 27 crosses a pass
    full = _arrays(data.train, per_pass + 3)
    resumed = _arrays(data.train_at(per_pass - 1), 4)
    for a, b in zip(full[per_pass - 1:], resumed):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
    # Two passes are two different permutations of the same images.
    labels = [b[1] for b in full]
    assert not np.array_equal(labels[0], labels[per_pass])
    reward = _arrays(data.reward, 6)
    for a, b in zip(reward[4:], _arrays(data.reward_at(4), 2)):
        np.testing.assert_array_equal(a[0], b[0])


def test_lm_streams_start_at_any_batch(ptb_dir):
    """The PTB training windows (variable length) and reward windows, rebuilt mid-epoch."""
    from enas_tf2.data.text.config import TextDataConfig
    from enas_tf2.data.text.lm_pipeline import build_lm_data
    cfg = TextDataConfig(data_path=str(ptb_dir), batch_size=64, eval_batch_size=64,
                         test_batch_size=1, bptt=35, variable_length=True, seed=3)
    data = build_lm_data(cfg)
    steps = data.steps_per_epoch
    start = steps - 2                            # the last two windows of epoch 0, then epoch 1
    full = [w["tokens"].numpy() for w in data.train.skip(start).take(4)]
    resumed = [w["tokens"].numpy() for w in data.train_from(start).take(4)]
    for a, b in zip(full, resumed):
        np.testing.assert_array_equal(a, b)
    valid_steps = data.info["valid_steps"]
    a = [w["tokens"].numpy() for w in data.reward.skip(valid_steps + 1).take(2)]
    b = [w["tokens"].numpy() for w in data.reward_from(valid_steps + 1).take(2)]
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


class _Killed(Exception):
    """Stands for `kill -9` right after a checkpoint."""


def _kill_after_saves(monkeypatch, saves: int, where: str = ""):
    """Raises `_Killed` right after the `saves`-th mid-run checkpoint whose reason contains
    `where`."""
    real = resume_point.IntervalSaver.save
    count = {"saves": 0}

    def save(self, reason=None):
        path = real(self, reason)
        if where in (reason or ""):
            count["saves"] += 1
            if count["saves"] == saves:
                raise _Killed(path)
        return path
    monkeypatch.setattr(resume_point.IntervalSaver, "save", save)


def _rows(path):
    return [{k: v for k, v in json.loads(line).items() if k not in TIMING}
            for line in open(path)]


def _assert_same_run(a, b):
    ra, rb = (tf.train.load_checkpoint(tf.train.latest_checkpoint(os.path.join(d, "ckpt")))
              for d in (a, b))
    names, names_b = (sorted(n for n in r.get_variable_to_shape_map()
                             if "OBJECT_GRAPH" not in n and not n.startswith("save_counter"))
                      for r in (ra, rb))      # save_counter: how many saves, not run state
    assert names == names_b
    for name in names:
        x, y = np.asarray(ra.get_tensor(name)), np.asarray(rb.get_tensor(name))
        if x.dtype.kind in "fc":
            np.testing.assert_allclose(x, y, rtol=0, atol=1e-6, err_msg=name)
        else:
            np.testing.assert_array_equal(x, y, err_msg=name)
    assert _rows(os.path.join(a, "progress.jsonl")) == _rows(os.path.join(b, "progress.jsonl"))


def _search_cfg(cifar10_dir, out):
    cfg = enas_tf2.get_preset("cifar10_micro_search.smoke")
    return cfg.replace(
        data=dataclasses.replace(cfg.data, data_path=str(cifar10_dir), batch_size=16,
                                 eval_batch_size=50),
        space_config=dataclasses.replace(cfg.space_config, num_layers=1, out_filters=4,
                                         num_cells=2),
        controller=dataclasses.replace(cfg.controller, train_steps=1, num_aggregate=2),
        run=dataclasses.replace(cfg.run, output_dir=str(out), num_epochs=2,
                                max_steps_per_epoch=5, steps_per_loop=1, log_every=1,
                                checkpoint_every_steps=2, checkpoint_every_seconds=0,
                                derive_num_samples=2, derive_eval_batches=1,
                                max_eval_batches=1, preflight=False))


def test_search_killed_twice_ends_as_the_uninterrupted_run(cifar10_dir, tmp_path, monkeypatch):
    """Killed right after the checkpoint that follows epoch 1's controller phase, then again
    after the one at epoch 2, step 3 of 5 (mid-epoch), each time rerun with the same config:
    the run ends with the same weights, controller, architecture, `progress.jsonl` rows and
    `archs.jsonl` rows (the controller phase is not trained or logged twice)."""
    reference = enas_tf2.search(_search_cfg(cifar10_dir, tmp_path / "a"))
    cfg = _search_cfg(cifar10_dir, tmp_path / "b")
    # A time interval that is always due: a checkpoint after every step and after the
    # controller phase.
    cfg = cfg.replace(run=dataclasses.replace(cfg.run, checkpoint_every_steps=0,
                                              checkpoint_every_seconds=1e-9))
    _kill_after_saves(monkeypatch, 1, where="after the controller")
    with pytest.raises(_Killed):
        enas_tf2.search(cfg)
    monkeypatch.undo()
    _kill_after_saves(monkeypatch, 1, where="epoch 2, step 3")
    with pytest.raises(_Killed):
        enas_tf2.search(cfg)
    monkeypatch.undo()
    resumed = enas_tf2.search(cfg)
    assert resumed.arch.tokens() == reference.arch.tokens()
    assert resumed.reward == pytest.approx(reference.reward, abs=1e-6)
    _assert_same_run(tmp_path / "a", tmp_path / "b")
    assert [r["epoch"] for r in _rows(tmp_path / "b" / "progress.jsonl")] == [1, 2]
    assert _rows(tmp_path / "b" / "archs.jsonl") == _rows(tmp_path / "a" / "archs.jsonl")


@pytest.mark.slow
def test_final_training_killed_mid_epoch_ends_as_the_uninterrupted_run(cifar10_dir, tmp_path,
                                                                      monkeypatch):
    """The micro final net with drop path and the aux head: its masks come from counters in its
    weights, so the resumed run draws the same ones."""
    cfg = enas_tf2.get_preset("cifar10_micro_final.smoke")
    space_config = dataclasses.replace(cfg.space_config, num_layers=1, out_filters=4,
                                       num_cells=2, drop_path_keep_prob=0.6)
    arch = enas_tf2.parse_arch("micro", "0 2 0 0 1 4 1 1  1 0 0 3 1 1 0 4", space_config)

    def config(out):
        return cfg.replace(
            data=dataclasses.replace(cfg.data, data_path=str(cifar10_dir), batch_size=16,
                                     eval_batch_size=50),
            space_config=space_config,
            run=dataclasses.replace(cfg.run, output_dir=str(out), num_epochs=2,
                                    max_steps_per_epoch=6, steps_per_loop=2, log_every=2,
                                    checkpoint_every_steps=4, checkpoint_every_seconds=0,
                                    max_eval_batches=1, preflight=False))
    reference = enas_tf2.train_final(config(tmp_path / "a"), arch)
    _kill_after_saves(monkeypatch, 1)
    with pytest.raises(_Killed):
        enas_tf2.train_final(config(tmp_path / "b"), arch)
    monkeypatch.undo()
    resumed = enas_tf2.train_final(config(tmp_path / "b"), arch)
    _assert_same_run(tmp_path / "a", tmp_path / "b")
    assert resumed.metrics == pytest.approx(reference.metrics, abs=1e-6)


@pytest.mark.slow
def test_kill_campaign_bit_identical(cifar10_dir, tmp_path):
    """`bench/kill_resume.py` with 3 real `kill -9`s (one aimed at a checkpoint write): every
    rerun resumes, nothing beyond the checkpoint interval is lost, and the separate processes
    (``--deterministic``) end bit-identical to the uninterrupted run."""
    script = os.path.join(os.path.dirname(__file__), "..", "bench", "kill_resume.py")
    proc = subprocess.run([sys.executable, script, f"--data_path={cifar10_dir}",
                           f"--out={tmp_path}", "--kills=3", "--epochs=2", "--steps=8"],
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1].split("RESULT ", 1)[1])
    assert result["kills"] == 3 and result["resumed"] == 3
    assert result["max_steps_lost"] <= 2
    assert result["identical"] is True


@pytest.mark.slow
def test_ptb_search_killed_mid_epoch_ends_as_the_uninterrupted_run(ptb_dir, tmp_path,
                                                                   monkeypatch):
    """The RNN space and the language-model task: variable-length windows rebuilt mid-epoch,
    the carried training state and the dropout counters restored from the checkpoint."""
    def config(out):
        cfg = enas_tf2.get_preset("ptb_rnn_search.smoke")
        return cfg.replace(
            data=dataclasses.replace(cfg.data, data_path=str(ptb_dir)),
            run=dataclasses.replace(cfg.run, output_dir=str(out), max_steps_per_epoch=8,
                                    max_eval_batches=2, derive_num_samples=2,
                                    derive_eval_batches=1, steps_per_loop=1, log_every=1,
                                    checkpoint_every_steps=3, checkpoint_every_seconds=0,
                                    preflight=False))
    reference = enas_tf2.search(config(tmp_path / "a"))
    _kill_after_saves(monkeypatch, 3)          # epoch 2, step 3 of 8 (ckpt-4)
    with pytest.raises(_Killed, match="ckpt-4"):
        enas_tf2.search(config(tmp_path / "b"))
    monkeypatch.undo()
    resumed = enas_tf2.search(config(tmp_path / "b"))
    assert resumed.arch.tokens() == reference.arch.tokens()
    _assert_same_run(tmp_path / "a", tmp_path / "b")
