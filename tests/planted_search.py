"""Small real searches for the loop tests: the real `SearchLoop`, `SearchSteps`, micro controller
and image task, with a tiny child (one trace in a second or two) on synthetic 8x8 images, and a
planted task whose reward is the share of one op in the sampled architecture.

Test code may know what micro arch integers mean: ``arch[cell, node, 1]`` and ``[..., 3]`` are
the two op tokens of a node (idx1, op1, idx2, op2).
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from enas_tf2.configs.base import (ControllerConfig, DataConfig, ExperimentConfig,
                                   OptimizerConfig, RunConfig)
from enas_tf2.data.images.user_datasets import ImageDatasets
from enas_tf2.search_space.micro.config import MicroConfig
from enas_tf2.search_space.micro.space import MicroSpace
from enas_tf2.tasks.base import TaskMetrics
from enas_tf2.tasks.image_classification import ImageClassificationTask
from enas_tf2.training.run_context import RunContext
from enas_tf2.training.search_loop import SearchLoop

NUM_OPS = 5


def op_share(arch, op: int) -> tf.Tensor:
    """Share of the op tokens of a micro arch tensor ``[2, cells, 4]`` that equal `op`."""
    ops = tf.gather(tf.convert_to_tensor(arch), [1, 3], axis=-1)
    return tf.reduce_mean(tf.cast(tf.equal(ops, op), tf.float32))


class TinyChild(keras.Model):
    """``logits = mean_pixel(images) @ kernel[first op token]``: reads the architecture, trains,
    and traces in a moment."""

    def __init__(self, num_classes: int, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(NUM_OPS, input_shape[-1], self.num_classes),
                                      initializer="glorot_uniform", name="kernel")

    def call(self, images, arch, training=False):
        pooled = tf.reduce_mean(images, axis=[1, 2])
        return pooled @ tf.gather(self.kernel, arch[0, 0, 1])


class TinySpace(MicroSpace):
    """The real micro space (controller, arch parsing, uniform sampling) with `TinyChild`."""

    def build_child(self, input_spec):
        child = TinyChild(input_spec.num_classes)
        child.build((None,) + input_spec.shape)
        return child


def tiny_datasets(num_train: int = 45, num_valid: int = 40, num_classes: int = 3,
                  seed: int = 0) -> ImageDatasets:
    """Learnable synthetic 8x8 images: class c is brighter in channel c."""
    rng = np.random.default_rng(seed)

    def split(n):
        labels = rng.integers(0, num_classes, n).astype(np.int32)
        images = rng.integers(0, 120, (n, 8, 8, 3)).astype(np.float32)
        images[np.arange(n), :, :, labels] += 120.0
        return tf.data.Dataset.from_tensor_slices((images, labels))
    return ImageDatasets(train=split(num_train), valid=split(num_valid),
                         class_names=[str(i) for i in range(num_classes)])


def tiny_config(output_dir: str, **run_fields) -> ExperimentConfig:
    """A 1-node micro search: batch 16, controller 3 updates x 2 samples per phase."""
    run = dict(output_dir=str(output_dir), num_epochs=2, log_every=2, steps_per_loop=2,
               derive_num_samples=3, derive_eval_batches=2, keep_checkpoints=1)
    run.update(run_fields)
    return ExperimentConfig(
        space="micro", task="image_classification",
        space_config=MicroConfig(num_layers=1, num_cells=1, out_filters=4),
        data=DataConfig(batch_size=16, eval_batch_size=10, shuffle_buffer=64),
        controller=ControllerConfig(lstm_size=8, tanh_constant=1.1, train_steps=3,
                                    num_aggregate=2),
        optim=OptimizerConfig(lr_max=0.05, lr_T_0=10), run=RunConfig(**run))


def replace(cfg: ExperimentConfig, section: str, **fields) -> ExperimentConfig:
    """`cfg` with fields of one nested section replaced."""
    return cfg.replace(**{section: dataclasses.replace(getattr(cfg, section), **fields)})


def tiny_loop(cfg: ExperimentConfig, datasets: ImageDatasets = None) -> SearchLoop:
    """A `SearchLoop` over `TinySpace` and the real image task on `tiny_datasets`."""
    task = ImageClassificationTask(cfg.data, cfg.optim, inputs=datasets or tiny_datasets())
    ctx = RunContext(cfg.run, tf.distribute.get_strategy())
    return SearchLoop(cfg, TinySpace(cfg.space_config), task, ctx)


class ShareChild(keras.Model):
    """No weights: "predicts" the share of `op` among the arch's op tokens."""

    def __init__(self, op: int, **kwargs):
        super().__init__(**kwargs)
        self.op = op

    def call(self, images, arch, training=False):
        return op_share(arch, self.op) + 0.0 * tf.reduce_sum(images)


class ShareTask:
    """A planted task for the controller path only: statistics ``{"share"}`` from the child's
    output, reward = that share (what `SearchSteps._controller_sample` hands to REINFORCE)."""

    name = "planted"
    metrics = TaskMetrics(score="share", higher_is_better=True, unit="img", train_metric="s")

    def eval_stats(self, forward, batch):
        return {"share": forward(batch, training=False)}

    def reward(self, stats):
        return tf.cast(stats["share"], tf.float32)

    def score(self, stats):
        return float(stats["share"])

    def reset_state(self):
        return None
