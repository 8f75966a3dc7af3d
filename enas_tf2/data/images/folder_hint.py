"""Recognising a folder of photos given where training data is expected, and saying what to do.

``enas-cnn`` reads CIFAR-10 batches or an ``enas-convert`` output folder, never loose image files
(decoding JPEGs every epoch would starve the step). A folder of class folders of images given as
``--data_path`` is therefore refused with the ``enas-convert`` command that turns it into shards.
TensorFlow-free and cheap: it lists at most a few folders.
"""

from __future__ import annotations

import os
from enas_tf2.errors import EnasError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp")
# Files that mark a folder as data enas-cnn reads directly.
DATA_MARKERS = ("labels.json", "manifest.json", "data_batch_1", "data_batch_1.bin",
                "cifar-10-batches-py", "cifar-10-batches-bin")


def _has_images(folder: str, limit: int = 200) -> bool:
    try:
        names = os.listdir(folder)[:limit]
    except OSError:
        return False
    return any(name.lower().endswith(IMAGE_EXTENSIONS) for name in names)


def is_image_folder(path: str) -> bool:
    """True for ROOT/<class>/<images> or ROOT/{train,valid,test}/<class>/<images> (and no data
    file enas-cnn could read)."""
    if not os.path.isdir(path):
        return False
    names = os.listdir(path)
    if any(marker in names for marker in DATA_MARKERS):
        return False
    subdirs = [os.path.join(path, n) for n in sorted(names)
               if os.path.isdir(os.path.join(path, n))][:20]
    for sub in subdirs:
        if _has_images(sub):
            return True
        if any(_has_images(os.path.join(sub, n)) for n in sorted(os.listdir(sub))[:20]
               if os.path.isdir(os.path.join(sub, n))):
            return True
    return False


def check_not_image_folder(data_path: str, dataset: str) -> None:
    """EnasError pointing to ``enas-convert`` when `data_path` is a folder of photos."""
    path = os.path.expanduser(str(data_path or ""))
    if path and is_image_folder(path):
        target = path.rstrip("/") + "_tfr"
        raise EnasError(
            f"--data_path {path} is a folder of image files, which --dataset={dataset} cannot "
            f"read; convert it first: enas-convert --source=image_folder --input={path} "
            f"--output_dir={target}, then train with --dataset=tfrecord --data_path={target}")

