"""`ImageClassificationTask`: images in, class logits out (the micro and macro spaces' task).

Owns everything the generic loops must not know about images: the `build_data` of CIFAR-10 or
converted TFRecord folders, cross-entropy with L2 on every weight and the optional auxiliary head,
``correct``/``count`` statistics, accuracy as both score and controller reward, images per second,
and the child optimizer (Nesterov SGD with the cosine-restart or staircase schedule, docs/enas_reference.md
§4.1-§4.2).
"""

from __future__ import annotations

import contextlib
from typing import Dict, Tuple

import keras
import tensorflow as tf

from enas_tf2.configs.base import DataConfig, OptimizerConfig
from enas_tf2.errors import EnasError
from enas_tf2.data.specs import DataBundle, ImageSpec
from enas_tf2.tasks.base import TaskMetrics
from enas_tf2.optim.lr_schedule import make_child_lr_schedule


def split_outputs(outputs):
    """``(logits, aux_logits or None)`` from what a network returns (a tensor, or a pair when an
    auxiliary head is active in training)."""
    if isinstance(outputs, (tuple, list)):
        return outputs[0], (outputs[1] if len(outputs) > 1 else None)
    return outputs, None


def count_correct(logits, labels) -> tf.Tensor:
    """Number of examples whose arg-max logit is the label (float32 scalar, summable)."""
    hits = tf.equal(tf.argmax(logits, -1, output_type=tf.int32), tf.cast(labels, tf.int32))
    return tf.reduce_sum(tf.cast(hits, tf.float32))


def classification_stats(logits, labels) -> Dict[str, tf.Tensor]:
    """Sum-able ``correct``/``count`` of one batch."""
    return {"correct": count_correct(logits, labels),
            "count": tf.cast(tf.size(labels), tf.float32)}


class ImageClassificationTask:
    """Image classification on a `DataConfig` input with an `OptimizerConfig` recipe.

    Args:
      data: where the images are and how they are batched (GLOBAL batch sizes).
      optim: child optimizer, schedule, L2 and auxiliary-loss weight.
      inputs: the user's own datasets (`ImageDatasets`, Python API); then ``data.dataset`` and
        ``data.data_path`` are not read.
      final: final training rather than a search (the same task either way for images).
    """

    name = "image_classification"
    metrics = TaskMetrics(score="accuracy", higher_is_better=True, unit="img",
                          train_metric="acc")

    def __init__(self, data: DataConfig, optim: OptimizerConfig, inputs=None,
                 final: bool = False):
        self.data_cfg = data
        self.optim = optim
        self.inputs = inputs
        self.global_batch = data.batch_size
        self.loss_terms = ["cross-entropy"]

    # ---- input ---------------------------------------------------------------------------------
    def build_data(self, num_replicas: int) -> DataBundle:
        """CIFAR-10 or a converted folder, streamed (see `data/images/pipeline.py`)."""
        for flag, size in (("--batch_size", self.data_cfg.batch_size),
                           ("--eval_batch_size", self.data_cfg.eval_batch_size)):
            if size <= 0 or size % num_replicas:
                raise EnasError(f"{flag}={size} is not divisible by the {num_replicas} replicas "
                                f"of the strategy; use a multiple of {num_replicas}")
        if self.inputs is not None:
            from enas_tf2.data.images.user_datasets import build_from_datasets
            images = build_from_datasets(self.data_cfg, self.inputs)
        else:
            from enas_tf2.data.images.pipeline import build_data
            images = build_data(self.data_cfg)
        height, width, channels = images.image_shape
        # ceil, as the original's steps per epoch (docs/enas_reference.md §3); the training
        # stream is infinite, so the last step of an epoch simply starts the next pass.
        steps = -(-images.counts["train"] // self.data_cfg.batch_size)
        return DataBundle(
            train=images.train, valid=images.valid, test=images.test, reward=images.reward,
            input_spec=ImageSpec(height, width, images.num_classes, channels),
            steps_per_epoch=steps, global_batch=self.data_cfg.batch_size,
            examples_per_step=self.data_cfg.batch_size,
            info={"image_size": [height, width], "mean": list(images.mean),
                  "std": list(images.std), "class_names": list(images.class_names),
                  "num_classes": images.num_classes, "counts": dict(images.counts)},
            train_at=images.train_at, reward_at=images.reward_at)

    def explain_error(self, err: Exception) -> Exception:
        """A user-facing error for a TensorFlow error met while reading the data (corrupt shard,
        label out of range), naming the file; other errors are returned unchanged."""
        from enas_tf2.data.images.pipeline import explain_read_error
        if isinstance(err, (tf.errors.DataLossError, tf.errors.InvalidArgumentError)):
            return explain_read_error(self.data_cfg.data_path, err)
        return err

    # ---- optimisation --------------------------------------------------------------------------
    def make_optimizer(self, steps_per_epoch: int) -> Tuple[keras.optimizers.Optimizer, object]:
        """Nesterov SGD on the schedule of `OptimizerConfig` (clipping is the loop's job)."""
        lr = make_child_lr_schedule(self.optim, steps_per_epoch)
        optimizer = keras.optimizers.SGD(learning_rate=lr, momentum=self.optim.momentum,
                                         nesterov=self.optim.nesterov)
        return optimizer, lr

    def gradient_scale(self, batch) -> tf.Tensor:
        """Images use the learning rate as scheduled."""
        return tf.constant(1.0, tf.float32)

    # ---- state (none) --------------------------------------------------------------------------
    # (Explicit `return None` bodies: AutoGraph cannot convert a docstring-only method, and
    # these are called inside compiled loops.)
    def create_state(self, forward_model, global_batch: int) -> None:
        """Image models carry no state between batches."""
        return None

    def reset_state(self) -> None:
        """Nothing to reset."""
        return None

    # ---- weight averaging (none) ---------------------------------------------------------------
    def after_train_step(self) -> None:
        """No weight averaging for images."""
        return None

    def eval_weights(self):
        """Evaluations use the trained weights as they are."""
        return contextlib.nullcontext(False)

    def observe_validation(self, score: float) -> bool:
        """Nothing to trigger."""
        return False

    def checkpoint_items(self) -> Dict[str, object]:
        """No task state to save."""
        return {}

    # ---- loss and statistics -------------------------------------------------------------------
    def _ce(self, labels, logits):
        ce = tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.cast(labels, tf.int32), logits=tf.cast(logits, tf.float32))
        return tf.nn.compute_average_loss(ce, global_batch_size=self.global_batch)

    def train_loss(self, forward, batch, variables) -> Tuple[tf.Tensor, Dict[str, tf.Tensor]]:
        """Cross-entropy (+ aux weight x aux cross-entropy) + L2 over all `variables` (as the
        original: BN scales/offsets included, no 1/2), divided for the replicas."""
        images, labels = batch
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        logits, aux_logits = split_outputs(forward(images, training=True))
        loss = self._ce(labels, logits)
        # What the logged loss holds (recorded when traced, read by the loops' first log line).
        self.loss_terms = ["cross-entropy"]
        if aux_logits is not None:
            loss += self.optim.aux_weight * self._ce(labels, aux_logits)
            self.loss_terms.append(f"{self.optim.aux_weight:g} x aux-head cross-entropy")
        if self.optim.l2_reg:
            self.loss_terms.append(f"{self.optim.l2_reg:g} x L2 of the weights")
        l2 = tf.add_n([tf.reduce_sum(tf.square(tf.cast(v, tf.float32))) for v in variables])
        total = loss + self.optim.l2_reg * l2 / replicas
        return total, classification_stats(logits, labels)

    def eval_stats(self, forward, batch) -> Dict[str, tf.Tensor]:
        images, labels = batch
        logits, _ = split_outputs(forward(images, training=False))
        return classification_stats(logits, labels)

    def score(self, stats: Dict[str, float]) -> float:
        """Accuracy of summed statistics."""
        return float(stats["correct"]) / max(float(stats["count"]), 1.0)

    def train_metric(self, stats) -> tf.Tensor:
        return stats["correct"] / tf.maximum(stats["count"], 1.0)

    def reward(self, stats) -> tf.Tensor:
        """The controller's reward is the accuracy on the reward batch (docs/enas_reference.md §3)."""
        return stats["correct"] / tf.maximum(stats["count"], 1.0)
