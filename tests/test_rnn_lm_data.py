"""Language-model datasets (docs/enas_reference.md §5.2): window-length distribution, exact passes, determinism
per epoch, evaluation and reward order, and the row split under MirroredStrategy."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from enas_tf2.data.text import lm_pipeline, ptb
from enas_tf2.data.text.config import TextDataConfig
from enas_tf2.errors import EnasError


def test_expected_window_length_hand_value_and_monte_carlo():
    # Truncating 35 + 5z (z symmetric) to an integer loses 0.5 on average: 34.5; base 17.5 loses
    # 0.5 as well (17.0): 0.95 * 34.5 + 0.05 * 17.0 = 33.625.
    expected = lm_pipeline.expected_window_length(35)
    assert abs(expected - 33.625) < 0.02
    rng = np.random.default_rng(0)
    draws = [ptb.sample_window_length(35, rng) for _ in range(40000)]
    assert abs(np.mean(draws) - expected) < 0.15          # sigma of the mean ~0.04


def test_epoch_windows_distribution_and_exact_cover():
    row_length = 14524                                     # PTB train, 64 rows
    steps = lm_pipeline.train_steps_per_epoch(row_length, 35, True)
    assert steps == round(14523 / lm_pipeline.expected_window_length(35)) == 432
    lengths_all = []
    for epoch in range(5):
        starts, lengths = lm_pipeline.epoch_windows(row_length, 35, steps,
                                                    np.random.default_rng([0, epoch]))
        assert len(starts) == steps and starts[0] == 0
        np.testing.assert_array_equal(starts[1:], np.cumsum(lengths)[:-1])
        assert lengths.sum() == row_length - 1             # the pass ends exactly at the end
        lengths_all.append(lengths)
    lengths = np.concatenate(lengths_all)
    assert lengths.min() >= 7 and lengths.max() <= 46      # 17.5 - 10 and 35 + 10, +-1 % scale
    short = np.mean(lengths < 26)                          # the base-17.5 windows
    assert 0.03 < short < 0.07
    long = lengths[lengths >= 26]
    assert abs(long.mean() - 34.5) < 0.6 and 3.5 < long.std() < 5.5
    # Deterministic per (seed, epoch), different across epochs.
    again = lm_pipeline.epoch_windows(row_length, 35, steps, np.random.default_rng([0, 3]))[1]
    np.testing.assert_array_equal(again, lengths_all[3])
    assert not np.array_equal(lengths_all[0], lengths_all[1])


def test_epoch_windows_squeeze_keeps_every_window_nonempty():
    # 10 windows over 11 ids: the rescale shrinks ~33-long draws to ~1 id each.
    starts, lengths = lm_pipeline.epoch_windows(12, 35, 10, np.random.default_rng(1))
    assert lengths.min() >= 1 and lengths.sum() == 11
    with pytest.raises(EnasError, match="do not fit"):
        lm_pipeline.epoch_windows(5, 35, 10, np.random.default_rng(1))


def _corpus(folder, train_words=403, valid_words=101, test_words=61):
    rng = np.random.default_rng(7)
    vocab = [f"w{i}" for i in range(20)]
    for name, n in (("train", train_words), ("valid", valid_words), ("test", test_words)):
        words = [vocab[i] for i in rng.integers(0, 20, n)]
        words[:20] = vocab if name == "train" else words[:20]
        (folder / f"ptb.{name}.txt").write_text(" ".join(words) + "\n", encoding="utf-8")


def _tokens(dataset, n):
    return [element["tokens"].numpy() for element in dataset.take(n)]


def test_build_lm_data_train_passes_valid_test_reward(tmp_path):
    _corpus(tmp_path)
    cfg = TextDataConfig(data_path=str(tmp_path), batch_size=4, bptt=7, eval_batch_size=2,
                         test_batch_size=1, seed=3)
    data = lm_pipeline.build_lm_data(cfg)
    corpus = ptb.load_ptb(str(tmp_path))
    rows = ptb.batchify(corpus.train, 4)                   # [4, 101]
    steps = data.steps_per_epoch
    assert steps == lm_pipeline.train_steps_per_epoch(101, 7, True)
    assert data.input_spec.vocab_size == 21 and data.info["tokens"]["train"] == 404
    windows = _tokens(data.train, 2 * steps)
    for epoch in range(2):
        epoch_windows = windows[epoch * steps:(epoch + 1) * steps]
        inputs = np.concatenate([w[:, :-1] for w in epoch_windows], axis=1)
        targets = np.concatenate([w[:, 1:] for w in epoch_windows], axis=1)
        np.testing.assert_array_equal(inputs, rows[:, :-1])      # one exact pass per epoch
        np.testing.assert_array_equal(targets, rows[:, 1:])
    lengths = [w.shape[1] - 1 for w in windows]
    assert lengths[:steps] != lengths[steps:]                   # new lengths every epoch
    assert data.examples_per_step == int(np.ceil(4 * 100 / steps))
    # Same seed and epoch, same windows; a resumed run starting at epoch 1 gets epoch 1's.
    resumed = lm_pipeline.build_lm_data(cfg, first_epoch=1)
    assert [w.shape[1] - 1 for w in _tokens(resumed.train, steps)] == lengths[steps:]
    # Validation: (50 - 1) // 7 = 7 ordered windows of 7 inputs over 2 rows; test one row.
    valid = _tokens(data.valid, 100)
    valid_rows = ptb.batchify(corpus.valid, 2)
    assert len(valid) == 7 == data.info["valid_steps"]
    np.testing.assert_array_equal(np.concatenate([w[:, :-1] for w in valid], 1),
                                  valid_rows[:, :49])
    assert all(w.shape == (2, 8) for w in valid)
    test = _tokens(data.test, 100)
    assert len(test) == (62 - 1) // 7 and test[0].shape == (1, 8)
    # Reward: the validation windows in order, cycling.
    reward = _tokens(data.reward, 9)
    for i, window in enumerate(reward):
        np.testing.assert_array_equal(window, valid[i % 7])


def test_fixed_length_training_and_bad_settings(tmp_path):
    _corpus(tmp_path)
    cfg = TextDataConfig(data_path=str(tmp_path), batch_size=4, bptt=10, eval_batch_size=2,
                         variable_length=False)
    data = lm_pipeline.build_lm_data(cfg)
    assert data.steps_per_epoch == (101 - 1) // 10
    windows = _tokens(data.train, 11)
    assert all(w.shape == (4, 11) for w in windows)
    np.testing.assert_array_equal(windows[10], windows[0])      # next epoch, same windows
    with pytest.raises(EnasError, match="test_batch_size=1 must be a multiple of the 2"):
        lm_pipeline.build_lm_data(cfg, num_replicas=2)
    with pytest.raises(EnasError, match="too short"):
        lm_pipeline.build_lm_data(TextDataConfig(data_path=str(tmp_path), batch_size=4,
                                                 bptt=60, eval_batch_size=2))
    with pytest.raises(EnasError, match="bptt must be an integer >= 1"):
        TextDataConfig(bptt=0)


MIRRORED = textwrap.dedent("""
    import numpy as np, tensorflow as tf
    from enas_tf2.training.strategy import make_strategy
    from enas_tf2.data.text import lm_pipeline
    strategy = make_strategy("mirrored", num_cpu_devices=2)
    rows = np.arange(4 * 60, dtype=np.int32).reshape(4, 60)
    dataset = lm_pipeline.train_dataset(rows, 6, True, seed=0)
    globals_ = [b["tokens"].numpy() for b in dataset.take(5)]
    routes = {
        "global": strategy.experimental_distribute_dataset(dataset),
        "per_worker": strategy.distribute_datasets_from_function(
            lambda ctx: lm_pipeline.per_worker_dataset(dataset, ctx)),
    }
    for name, dist in routes.items():
        for step, batch in zip(range(5), dist):
            parts = [t.numpy() for t in strategy.experimental_local_results(batch["tokens"])]
            assert len(parts) == 2, name
            np.testing.assert_array_equal(parts[0], globals_[step][:2])
            np.testing.assert_array_equal(parts[1], globals_[step][2:])
    lengths = {g.shape[1] for g in globals_}
    assert len(lengths) > 1, lengths
    print("OK", sorted(lengths))
""")


def test_rows_split_over_mirrored_replicas():
    out = subprocess.run([sys.executable, "-c", MIRRORED], capture_output=True, text=True,
                         timeout=300)
    assert "OK" in out.stdout, out.stderr[-3000:]


def test_real_ptb_bundle(ptb_dir):
    data = lm_pipeline.build_lm_data(TextDataConfig(data_path=str(ptb_dir), batch_size=64,
                                                    eval_batch_size=64))
    assert data.steps_per_epoch == 432 and data.input_spec.vocab_size == 10_000
    first = next(iter(data.train))["tokens"]
    assert first.shape[0] == 64 and 8 <= first.shape[1] <= 47
    assert data.info["valid_steps"] == (73_760 // 64 - 1) // 35
