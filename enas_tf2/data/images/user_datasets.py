"""Image input from the user's own `tf.data.Dataset`s (the Python API's data path).

Accepts what Keras and TFDS hand out: ``keras.utils.image_dataset_from_directory`` (batched
``(images, labels)``, float pixels 0..255, ``class_names`` attribute), a TFDS split (unbatched
``{"image", "label"}`` dicts or ``as_supervised`` pairs of uint8 images), or any dataset of
``(image, label)`` with images ``[H, W, 3]`` (or batches ``[B, H, W, 3]``) in pixel units 0..255
and integer labels. From there it builds the same datasets as the CIFAR-10 and TFRecord paths:
per-channel normalisation statistics estimated on training images, augmentation per epoch,
shuffled training batches, ordered evaluation passes and shuffled reward batches.

What the user provides: a training dataset and a VALIDATION dataset (the controller's reward and
model selection come from it; a search refuses to run without one), optionally a test dataset
and the class names (taken from the dataset's ``class_names`` when it has them).
"""

from __future__ import annotations

import dataclasses
from typing import List, Optional, Tuple

import numpy as np
import tensorflow as tf

from enas_tf2.configs.base import DataConfig
from enas_tf2.data.images.image_data import ImageData
from enas_tf2.data.images.epoch_order import record_passes, shuffled_pass
from enas_tf2.data.images.pipeline import finish, train_batches
from enas_tf2.data.images.preprocess import preprocess_for_eval, resize_images
from enas_tf2.errors import EnasError

STATS_IMAGES = 1000        # training images the normalisation statistics are estimated on


@dataclasses.dataclass
class ImageDatasets:
    """The user's datasets; see the module docstring for what each may hold."""
    train: tf.data.Dataset
    valid: Optional[tf.data.Dataset] = None
    test: Optional[tf.data.Dataset] = None
    class_names: Optional[List[str]] = None


def _pairs(dataset: tf.data.Dataset, name: str) -> tf.data.Dataset:
    """Unbatched ``(image, int32 label)`` pairs from any of the accepted element layouts."""
    spec = dataset.element_spec
    if isinstance(spec, dict):
        if "image" not in spec or "label" not in spec:
            raise EnasError(f"the {name} dataset yields dicts with keys {sorted(spec)}; "
                            f"expected 'image' and 'label' (or (image, label) pairs)")
        dataset = dataset.map(lambda d: (d["image"], d["label"]))
        spec = dataset.element_spec
    if not isinstance(spec, tuple) or len(spec) != 2:
        raise EnasError(f"the {name} dataset must yield (image, label) pairs or "
                        f"{{'image', 'label'}} dicts, got {spec}")
    rank = spec[0].shape.rank
    if rank == 4:
        dataset = dataset.unbatch()
    elif rank != 3:
        raise EnasError(f"the {name} dataset's images have shape {spec[0].shape}; expected "
                        f"[H, W, 3] images or [B, H, W, 3] batches")
    if dataset.element_spec[0].shape[-1] not in (None, 3):
        raise EnasError(f"the {name} dataset's images have {dataset.element_spec[0].shape[-1]} "
                        f"channels; enas_tf2 trains on RGB (3 channels)")
    return dataset.map(lambda x, y: (x, tf.cast(tf.reshape(y, []), tf.int32)))


def _scan(dataset: tf.data.Dataset, image_size) -> Tuple[int, int, np.ndarray, Tuple[int, int]]:
    """One pass: (count, max label + 1, sum/sum-of-squares/pixel-count stats of the first
    `STATS_IMAGES` images at `image_size`, that size)."""
    count, classes = 0, 0
    sums = np.zeros(7)   # 3 sums, 3 sums of squares, pixel count
    for image, label in dataset.prefetch(tf.data.AUTOTUNE):
        if image_size is None:
            image_size = tuple(int(d) for d in image.shape[:2])
        if count < STATS_IMAGES:
            pixels = resize_images(image, image_size).numpy().reshape(-1, 3) / 255.0
            sums[:3] += pixels.sum(0)
            sums[3:6] += (pixels ** 2).sum(0)
            sums[6] += len(pixels)
        count += 1
        classes = max(classes, int(label) + 1)
    return count, classes, sums, image_size


def build_from_datasets(cfg: DataConfig, inputs: ImageDatasets) -> ImageData:
    """The `ImageData` of the user's datasets at ``cfg.image_size`` (default: the size of the
    first training image; images of other sizes are resized) with the batch sizes of `cfg`."""
    train = _pairs(inputs.train, "train")
    valid = _pairs(inputs.valid, "valid") if inputs.valid is not None else None
    test = _pairs(inputs.test, "test") if inputs.test is not None else None
    count, classes, sums, image_size = _scan(train, cfg.image_size)
    if count == 0:
        raise EnasError("the train dataset is empty")
    mean = sums[:3] / sums[6]
    std = np.sqrt(np.maximum(sums[3:6] / sums[6] - mean ** 2, 1e-12))
    mean, std = tuple(float(m) for m in mean), tuple(float(s) for s in std)
    names = inputs.class_names or getattr(inputs.train, "class_names", None)
    names = [str(n) for n in names] if names else [str(i) for i in range(classes)]
    if classes > len(names):
        raise EnasError(f"the train dataset has label {classes - 1} but only {len(names)} class "
                        f"names were given")
    if count < cfg.batch_size:
        raise EnasError(f"the train dataset has {count} images, fewer than one batch of "
                        f"{cfg.batch_size}; lower the batch size")
    # One size before the shuffle: its blocks stack their images.
    same_size = train.map(lambda x, y: (resize_images(x, image_size, keep_dtype=True), y))

    def one_pass(epoch):
        return shuffled_pass(same_size, min(count, cfg.shuffle_buffer), cfg.seed, epoch)

    def train_at(start_batch: int) -> tf.data.Dataset:
        # A resumed run skips the used part of its current pass (one pass of the user's
        # pipeline at most); exact when the user's datasets are deterministic.
        return train_batches(record_passes(one_pass, count, start_batch * cfg.batch_size), cfg,
                             image_size, mean, std, lambda pair: pair)

    def evaluation(dataset, batch_size, shuffle):
        if shuffle:
            dataset = dataset.shuffle(4 * batch_size, seed=cfg.seed,
                                      reshuffle_each_iteration=True).repeat()
        batches = dataset.batch(batch_size, drop_remainder=shuffle).map(
            lambda x, y: (preprocess_for_eval(x, image_size, mean, std), y),
            num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        return finish(batches, deterministic=True)

    def resized(dataset):
        # Evaluation batches need one image size before `batch`.
        return dataset.map(lambda x, y: (resize_images(x, image_size), y))

    counts = {"train": count, "valid": 0, "test": 0}
    valid_ds = reward_ds = test_ds = None
    if valid is not None:
        valid_ds = evaluation(resized(valid), cfg.eval_batch_size, False)
        reward_ds = evaluation(resized(valid), cfg.batch_size, True)
        counts["valid"] = -1      # unknown without a pass; not needed by the loops
    if test is not None:
        test_ds = evaluation(resized(test), cfg.eval_batch_size, False)
        counts["test"] = -1
    return ImageData(train_at(0), valid_ds, test_ds, reward_ds, len(names), names,
                     (image_size[0], image_size[1], 3), counts, mean, std, train_at=train_at)
