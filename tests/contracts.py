"""The contract every search space passes (keras-hub's `run_backbone_test` idea).

A space's test module only supplies a `SpaceCase` (the registered name, a small config, an input
spec, a task and one batch); `run_space_contract` then checks everything the generic loops, CLIs
and tools rely on:

* tokens: a sampled architecture prints to tokens that parse back to the same architecture;
  JSON round trip; the controller's array round trip; a random architecture is valid;
* `describe_stages` gives the start-of-run lines (one per stage for a CNN space, none for RNN);
* the controller samples (same seed -> same architecture) and scores a given architecture with a
  finite log-probability equal to the one it reported when sampling it;
* the weight-shared child takes one training step through the TASK's loss for two different
  architectures with ONE trace, every variable gets a finite gradient (never None);
* the fixed net of an architecture takes one training step and evaluates;
* child, controller and fixed net round-trip every weight through `tf.train.Checkpoint`;
* the controller and the fixed net round-trip through `get_config`/`from_config`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import keras
import numpy as np
import tensorflow as tf

from enas_tf2.configs.base import ControllerConfig
from enas_tf2.search_space.base import Arch, SearchSpace
from enas_tf2.search_space.registry import get_space


@dataclasses.dataclass
class SpaceCase:
    """What a space's contract test supplies."""
    name: str                         # registered space name
    config: Any                       # a small instance of the space's config class
    input_spec: Any                   # ImageSpec / TokenSpec the networks are built for
    make_task: Callable[[], Any]      # a Task whose train_loss/eval_stats fit `batch`
    batch: Any                        # one training batch for the task


def _checkpoint_round_trip(model, make_twin, tmp_path, tag):
    twin = make_twin()
    rng = np.random.default_rng(0)
    for weight in model.weights:   # random values, so a restore that silently skips shows
        dtype = np.dtype(weight.dtype)
        value = rng.normal(size=weight.shape) if dtype.kind == "f" else rng.integers(
            0, 100, size=weight.shape)
        weight.assign(value.astype(dtype))
    path = tf.train.Checkpoint(model=model).save(str(tmp_path / tag))
    saved = [n for n, _ in tf.train.list_variables(path) if n.startswith("model/")]
    assert len(saved) == len(model.weights), f"{tag}: {len(saved)} of {len(model.weights)} saved"
    tf.train.Checkpoint(model=twin).restore(path).assert_existing_objects_matched()
    for a, b in zip(model.weights, twin.weights):
        np.testing.assert_array_equal(np.asarray(a.numpy()), np.asarray(b.numpy()))


def run_space_contract(case: SpaceCase, tmp_path) -> None:
    """Runs every check of the module docstring for `case`; raises AssertionError on a breach."""
    space: SearchSpace = get_space(case.name, case.config)
    assert isinstance(space, SearchSpace) and space.name == case.name

    # ---- architectures and the controller ----
    controller = space.build_controller(ControllerConfig(lstm_size=16))
    sampled = controller(seed=tf.constant([3, 4], tf.int64))
    again = controller(seed=tf.constant([3, 4], tf.int64))
    np.testing.assert_array_equal(sampled.arch.numpy(), again.arch.numpy())
    arch: Arch = space.arch_from_array(sampled.arch.numpy())
    assert isinstance(arch, Arch) and arch.search_space == case.name
    assert space.arch_from_tokens(arch.tokens()) == arch
    assert space.arch_from_json(arch.to_json()) == arch
    np.testing.assert_array_equal(arch.to_array(), sampled.arch.numpy())
    assert sum(arch.histogram().values()) > 0 and arch.describe()
    scored = controller(arch=tf.constant(arch.to_array()))
    assert np.isfinite(float(scored.log_prob))
    np.testing.assert_allclose(float(scored.log_prob), float(sampled.log_prob), rtol=1e-5,
                               atol=1e-5)
    other = space.random_arch(seed=7)
    assert space.arch_from_tokens(other.tokens()) == other

    # ---- start-of-run lines (the loops log them): strings; a CNN space names its stages ----
    for fixed in (False, True):
        lines = space.describe_stages(case.input_spec, fixed=fixed)
        assert isinstance(lines, list) and all(isinstance(line, str) for line in lines)
        assert bool(lines) == (space.task == "image_classification")

    # ---- weight-shared child: one step per architecture, one trace ----
    task = case.make_task()
    child = space.build_child(case.input_spec)
    task.create_state(child, 2)
    optimizer = keras.optimizers.SGD(0.01)
    optimizer.build(child.trainable_variables)

    @tf.function
    def child_step(arch_tensor):
        variables = child.trainable_variables
        forward = lambda *a, **k: child(*a, arch=arch_tensor, **k)  # noqa: E731
        with tf.GradientTape() as tape:
            loss, _ = task.train_loss(forward, case.batch, variables)
        grads = tape.gradient(loss, variables)
        finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in grads
                                if g is not None])
        optimizer.apply([tf.zeros_like(v) if g is None else g
                         for g, v in zip(grads, variables)], variables)
        return loss, finite, tf.constant([g is None for g in grads])

    for candidate in (arch, other):
        loss, finite, none = child_step(tf.constant(candidate.to_array()))
        assert np.isfinite(float(loss)) and bool(finite)
        assert not none.numpy().any(), "a child variable got a None gradient"
    assert child_step.experimental_get_tracing_count() == 1, "the child retraced for a new arch"

    # ---- fixed net: one step, evaluation ----
    net = space.build_fixed(arch, case.input_spec, total_steps=10)
    task.create_state(net, 2)
    with tf.GradientTape() as tape:
        loss, _ = task.train_loss(net, case.batch, net.trainable_variables)
    grads = tape.gradient(loss, net.trainable_variables)
    assert np.isfinite(float(loss)) and all(g is not None for g in grads)
    stats = task.eval_stats(net, case.batch)
    assert np.isfinite(task.score({k: float(v) for k, v in stats.items()}))

    # ---- checkpoints and Keras configs ----
    _checkpoint_round_trip(child, lambda: space.build_child(case.input_spec), tmp_path, "child")
    _checkpoint_round_trip(controller, lambda: space.build_controller(
        ControllerConfig(lstm_size=16)), tmp_path, "controller")
    _checkpoint_round_trip(net, lambda: space.build_fixed(arch, case.input_spec, 10),
                           tmp_path, "net")
    for model in (controller, net):
        clone = type(model).from_config(model.get_config())
        assert clone.get_config() == model.get_config()


def check_stem_round_trip(net, net_cls, height: int, width: int, folder) -> None:
    """A fixed net built with the downsampling stem survives `get_config` and a checkpoint:
    the twin is built with the same stem, all weights are saved (the stem's 3 conv+BN blocks
    included) and restored, and both give the same outputs."""
    images = tf.random.normal([2, height, width, 3], seed=1)
    twin = net_cls.from_config(net.get_config())
    twin.build((None, height, width, 3))
    assert twin.stem_kind == "imagenet"
    path = tf.train.Checkpoint(model=net).save(str(folder / "ckpt"))
    saved = [name for name, _ in tf.train.list_variables(path) if name.startswith("model/")]
    assert len(saved) == len(net.weights)
    assert sum("model/stem/" in name for name in saved) == 3 * 5   # kernel + 4 BN vars, x3
    tf.train.Checkpoint(model=twin).restore(path).assert_existing_objects_matched()
    np.testing.assert_array_equal(twin(images, training=False), net(images, training=False))
