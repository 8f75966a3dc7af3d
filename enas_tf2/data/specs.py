"""What an input pipeline hands the loops: the specs networks are built for and the bundle of
datasets of one run (`DataBundle`). They live with the data so that pipelines (images, text)
need nothing from the tasks above them; `tasks/base.py` re-exports them for the tasks.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, Optional, Tuple

import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class ImageSpec:
    """What an image-classification network is built for: ``[H, W, channels]`` inputs."""
    height: int
    width: int
    num_classes: int
    channels: int = 3

    @property
    def shape(self) -> Tuple[int, int, int]:
        """``(H, W, channels)`` of one image."""
        return (self.height, self.width, self.channels)


@dataclasses.dataclass(frozen=True)
class TokenSpec:
    """What a language model is built for: token ids in ``[0, vocab_size)``."""
    vocab_size: int


@dataclasses.dataclass
class DataBundle:
    """The input of one run, as a task hands it to the loops.

    Attributes:
      train: infinite training dataset at the GLOBAL batch size.
      valid, test: one ordered pass each (None when the split does not exist).
      reward: infinite dataset of controller-reward batches (None without a validation split).
      input_spec: what the space builds its networks for (image shape and classes, vocabulary).
      steps_per_epoch: training steps that make one epoch.
      global_batch: rows of one training batch over all replicas (images, or token streams).
      examples_per_step: images or tokens per training step (throughput and cost accounting).
      info: JSON-able facts written into run files (counts, class names, normalisation, ...).
      train_at, reward_at: ``f(n)`` -> the endless stream after its first ``n`` batches, built
        to seek cheaply (None: `train_from` / `reward_from` skip ``n`` batches).
    """
    train: tf.data.Dataset
    valid: Optional[tf.data.Dataset]
    test: Optional[tf.data.Dataset]
    reward: Optional[tf.data.Dataset]
    input_spec: Any
    steps_per_epoch: int
    global_batch: int
    examples_per_step: int
    info: Dict[str, Any] = dataclasses.field(default_factory=dict)
    train_at: Optional[Callable[[int], tf.data.Dataset]] = None
    reward_at: Optional[Callable[[int], tf.data.Dataset]] = None

    def train_from(self, batches: int) -> tf.data.Dataset:
        """The training stream positioned after its first `batches` batches: a resumed run
        continues with exactly the batches the uninterrupted run would have drawn."""
        if not batches:
            return self.train
        return self.train_at(batches) if self.train_at else self.train.skip(batches)

    def reward_from(self, batches: int) -> Optional[tf.data.Dataset]:
        """The reward stream after its first `batches` batches (None without one)."""
        if self.reward is None or not batches:
            return self.reward
        return self.reward_at(batches) if self.reward_at else self.reward.skip(batches)
