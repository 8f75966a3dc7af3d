"""`ImageData`: what `build_data` returns: the image datasets plus the facts about them."""

from __future__ import annotations

import dataclasses
from typing import Callable, Dict, List, Optional, Tuple

import tensorflow as tf


@dataclasses.dataclass
class ImageData:
    """The input datasets of one run; every element is ``(images, labels)``.

    ``images`` are float32 ``[B, H, W, 3]`` standardised with ``mean``/``std``; ``labels`` int32
    ``[B]``. Every dataset is auto-sharded with ``AutoShardPolicy.DATA`` under ``tf.distribute``.

    Attributes:
      train: infinite, shuffled, augmented, batched at the GLOBAL batch size, drop_remainder=True.
      valid: one ordered pass at ``eval_batch_size``, unaugmented; None without a validation split.
      test: one ordered pass at ``eval_batch_size``, unaugmented; None without a test split.
      reward: infinite, shuffled, UNaugmented validation batches at the training batch size
        (drop_remainder=True) for controller rewards; None without a validation split.
      num_classes, class_names: label ids are indices into ``class_names``.
      image_shape: ``(H, W, 3)`` of every image the datasets produce.
      counts: records per split, ``{"train": n, "valid": n, "test": n}`` (0 for a missing split).
      mean, std: per-channel statistics of the training split in [0, 1] pixel units.
      train_at, reward_at: ``f(n)`` -> the same endless stream after its first ``n`` batches
        (what a resumed run continues with); None: skip ``n`` batches of `train` / `reward`.
    """
    train: tf.data.Dataset
    valid: Optional[tf.data.Dataset]
    test: Optional[tf.data.Dataset]
    reward: Optional[tf.data.Dataset]
    num_classes: int
    class_names: List[str]
    image_shape: Tuple[int, int, int]
    counts: Dict[str, int]
    mean: Tuple[float, float, float]
    std: Tuple[float, float, float]
    train_at: Optional[Callable[[int], tf.data.Dataset]] = None
    reward_at: Optional[Callable[[int], tf.data.Dataset]] = None
