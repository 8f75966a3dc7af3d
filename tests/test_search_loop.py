"""The real `SearchLoop` on a tiny child and synthetic images (planted_search.py): steps per
epoch (docs/enas_reference.md §3, §11 check 6), samples and updates per controller phase,
`controller_train_every`, the random strategy, and the derive comparison on several batches."""

import json
import math
import os

import numpy as np
import pytest
import tensorflow as tf

from planted_search import replace, tiny_config, tiny_datasets, tiny_loop
from enas_tf2.configs.base import DataConfig, OptimizerConfig
from enas_tf2.data.images import user_datasets
from enas_tf2.errors import EnasError
from enas_tf2.tasks.image_classification import ImageClassificationTask
from enas_tf2.training.search_steps import CHILD_STREAM, host_seed


def _rows(out, name):
    with open(os.path.join(out, name)) as f:
        return [json.loads(line) for line in f if line.strip()]


# docs/enas_reference.md §3: train examples, batch -> steps per epoch (the original's ceil).
STEPS_TABLE = [(45000, 128, 352), (45000, 160, 282), (50000, 100, 500), (50000, 144, 348)]


@pytest.mark.parametrize("examples,batch,steps", STEPS_TABLE)
def test_steps_per_epoch_table(monkeypatch, examples, batch, steps):
    """The image task's steps per epoch for the §3 table's sizes (the one-pass scan of the
    images is replaced by its result: `examples` images of 8x8)."""
    monkeypatch.setattr(user_datasets, "_scan", lambda dataset, size: (
        examples, 3, np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 4.0]), (8, 8)))
    data = tiny_datasets()
    task = ImageClassificationTask(DataConfig(batch_size=batch), OptimizerConfig(), inputs=data)
    assert task.build_data(1).steps_per_epoch == steps == math.ceil(examples / batch)


def test_loop_runs_ceil_steps_and_the_controller_phase_samples_and_updates(tmp_path):
    """45 images at batch 16: 3 steps per epoch (ceil; floor would give 2); each controller phase
    draws train_steps x num_aggregate = 3 x 2 samples and makes 3 Adam updates."""
    out = str(tmp_path / "run")
    loop = tiny_loop(tiny_config(out, num_epochs=2))
    assert loop.steps_per_epoch == 3
    loop.run()
    assert [r["step"] for r in _rows(out, "progress.jsonl")] == [3, 6]
    assert int(loop.state.controller_samples.numpy()) == 12
    assert int(loop.state.controller_optimizer.iterations.numpy()) == 6
    controller = [r["epoch"] for r in _rows(out, "archs.jsonl") if r["kind"] == "controller"]
    assert controller == [1] * 6 + [2] * 6
    samples = [r["epoch"] for r in _rows(out, "archs.jsonl") if r["kind"] == "epoch_sample"]
    assert samples == [1] * 10 + [2] * 10
    capped = tiny_loop(tiny_config(str(tmp_path / "capped"), max_steps_per_epoch=2))
    assert capped.steps_per_epoch == 2


def test_controller_train_every_counts_finished_epochs(tmp_path):
    """train_every=2: the original trains after epochs 2 and 4 (finished-epoch count % 2 == 0),
    not after epochs 1 and 3."""
    out = str(tmp_path / "run")
    cfg = replace(tiny_config(out, num_epochs=4, max_steps_per_epoch=1, eval_every_epochs=4),
                  "controller", train_every=2)
    loop = tiny_loop(cfg)
    loop.run()
    rows = _rows(out, "progress.jsonl")
    assert [r["reward_mean"] is not None for r in rows] == [False, True, False, True]
    controller = [r["epoch"] for r in _rows(out, "archs.jsonl") if r["kind"] == "controller"]
    assert controller == [2] * 6 + [4] * 6


def test_derive_scores_every_candidate_on_the_same_batches(tmp_path):
    out = str(tmp_path / "run")
    loop = tiny_loop(tiny_config(out, num_epochs=1, derive_num_samples=4,
                                 derive_eval_batches=3))
    result = loop.run()
    d = result["derive"]
    assert d["strategy"] == "controller" and d["eval_batches"] == 3 and d["num_samples"] == 4
    assert len(d["controller_batch_rewards"]) == len(d["random_batch_rewards"]) == 3
    diff = np.subtract(d["controller_batch_rewards"], d["random_batch_rewards"])
    assert d["reward_diff_mean"] == pytest.approx(float(np.mean(diff)), abs=1e-5)
    assert d["reward_diff_batch_std"] == pytest.approx(float(np.std(diff, ddof=1)), abs=1e-5)
    assert d["reward_diff_sem"] == pytest.approx(float(np.std(diff, ddof=1)) / math.sqrt(3),
                                                 abs=1e-5)
    derive = [r for r in _rows(out, "archs.jsonl") if r["kind"] == "derive"]
    assert len(derive) == 4
    assert d["controller_reward_std"] == pytest.approx(
        float(np.std([r["reward"] for r in derive], ddof=1)), abs=1e-6)
    # The derived arch's accuracy by hand: the child on the first 3 validation batches (30
    # images, batch 10, in order).
    arch = loop.space.arch_from_json(result).to_array()
    correct = count = 0
    for images, labels in list(loop.data.valid)[:3]:
        logits = loop.state.child(images, arch=tf.constant(arch), training=False).numpy()
        correct += int(np.sum(np.argmax(logits, -1) == labels.numpy()))
        count += len(labels)
    assert count == 30 and result["score"] == pytest.approx(correct / count, abs=1e-6)
    assert json.load(open(os.path.join(out, "experiment.json")))["run"]["derive_eval_batches"] == 3


def test_random_strategy_trains_on_uniform_archs_without_the_controller(tmp_path):
    out = str(tmp_path / "run")
    cfg = replace(tiny_config(out, num_epochs=2, search_strategy="random", steps_per_loop=2),
                  "optim", l2_reg=0.0)
    loop = tiny_loop(cfg)
    st = loop.state
    controller_before = [v.numpy() for v in st.controller.trainable_variables]
    kernel_before = st.child.kernel.numpy()
    result = loop.run()
    assert int(st.controller_samples.numpy()) == 0
    assert int(st.controller_optimizer.iterations.numpy()) == 0
    for a, b in zip(controller_before, st.controller.trainable_variables):
        np.testing.assert_array_equal(a, b.numpy())
    # 6 steps; chunks of 2, 1 (log point), 2, 1: one trace for all of them.
    assert st.steps.train_loop_archs.experimental_get_tracing_count() == 1
    assert st.steps.train_loop.experimental_get_tracing_count() == 0
    # Without L2, exactly the kernel slices of the ops the random archs of steps 0..5 chose moved.
    chosen = {int(loop.space.random_arch(host_seed(CHILD_STREAM, 0, s)).to_array()[0, 0, 1])
              for s in range(6)}
    moved = {op for op in range(5)
             if not np.array_equal(kernel_before[op], st.child.kernel.numpy()[op])}
    assert moved == chosen
    assert [r["reward_mean"] for r in _rows(out, "progress.jsonl")] == [None, None]
    kinds = {r["kind"] for r in _rows(out, "archs.jsonl")}
    assert "controller" not in kinds and "derive" not in kinds and "derive_random" in kinds
    d = result["derive"]
    assert d["strategy"] == "random" and d["controller_mean_reward"] is None
    assert result["score"] == pytest.approx(d["random_best_score"])


def test_unknown_strategy_is_refused(tmp_path):
    with pytest.raises(EnasError, match="--search_strategy"):
        tiny_loop(tiny_config(str(tmp_path / "run"), search_strategy="evolution"))
