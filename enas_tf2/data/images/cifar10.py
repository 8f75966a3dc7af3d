"""CIFAR-10 reader: the python-pickle batches, the binary batches, or a prepared tfds `cifar10`.

All three layouts end up as the same in-memory `Cifar10Arrays` (uint8 NHWC images, int64 labels).
CIFAR-10 is small (50k x 3 KiB = 150 MB), so holding it in RAM is fine; large user datasets go
through `enas-convert` and the streaming TFRecord pipeline instead.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import re
from typing import List, Optional, Tuple

import numpy as np

from enas_tf2.data.safe_pickle import load_pickle
from enas_tf2.errors import EnasError

PY_FOLDER = "cifar-10-batches-py"
BIN_FOLDER = "cifar-10-batches-bin"
IMAGE_BYTES = 32 * 32 * 3
DEFAULT_CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer",
                       "dog", "frog", "horse", "ship", "truck"]


@dataclasses.dataclass
class Cifar10Arrays:
    """CIFAR-10 in memory: ``*_images`` uint8 ``[N, 32, 32, 3]`` (RGB), ``*_labels`` int64 ``[N]``.

    ``train_*`` holds every training batch found, in file order (``data_batch_1`` .. ``_5``), so the
    search split's validation images are the tail, exactly like the original code.
    """
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    class_names: List[str]


def load_cifar10(path: str) -> Cifar10Arrays:
    """Loads CIFAR-10 from ``path``.

    ``path`` may be a ``cifar-10-batches-py`` folder, a ``cifar-10-batches-bin`` folder, the parent
    of either, or a tfds data dir holding a prepared ``cifar10`` (also the ``cifar10`` folder or
    one of its version folders). Raises EnasError naming the path or file when nothing usable is
    there or a file is corrupt.
    """
    if not path:
        raise EnasError("no CIFAR-10 --data_path given "
                        "(a cifar-10-batches-py folder or its parent)")
    path = os.path.expanduser(str(path))
    if not os.path.isdir(path):
        raise EnasError(f"CIFAR-10 data path {path!r} does not exist or is not a folder")
    for folder in (path, os.path.join(path, PY_FOLDER)):
        if _training_files(folder, ""):
            return _load_pickle_folder(folder)
    for folder in (path, os.path.join(path, BIN_FOLDER)):
        if _training_files(folder, ".bin"):
            return _load_bin_folder(folder)
    tfds_dir = _find_tfds_version_dir(path)
    if tfds_dir is not None:
        return _load_tfds(tfds_dir)
    raise EnasError(
        f"no CIFAR-10 data found in {path!r}: expected data_batch_* files of "
        f"{PY_FOLDER}/ or {BIN_FOLDER}/ (the folder or its parent), or a tfds data dir with a "
        "prepared cifar10 (scripts/download_cifar10.sh fetches the python batches)")


def _batch_number(file_path: str) -> int:
    """``data_batch_3`` / ``data_batch_3.bin`` -> 3, so batches load in the original order."""
    match = re.search(r"data_batch_(\d+)", os.path.basename(file_path))
    return int(match.group(1)) if match else 0


def _training_files(folder: str, suffix: str) -> List[str]:
    pattern = os.path.join(folder, "data_batch_*" + suffix)
    files = [f for f in glob.glob(pattern)
             if re.fullmatch(r"data_batch_\d+" + re.escape(suffix), os.path.basename(f))]
    return sorted(files, key=_batch_number)


def _require_file(folder: str, name: str) -> str:
    file_path = os.path.join(folder, name)
    if not os.path.isfile(file_path):
        raise EnasError(f"CIFAR-10 file {file_path!r} is missing")
    return file_path


# ---------------------------------------------------------------- python-pickle batches


def _unpickle(file_path: str) -> dict:
    """Reads one py2-era pickle; keys come back as ``str`` whatever the writer used.

    The restricted unpickler admits only plain data (dicts, lists, strings, numbers, numpy
    arrays), so a planted "batch" cannot run code; it raises EnasError naming the file.
    """
    # encoding="bytes" keeps the uint8 payload intact for py2 pickles (docs/enas_reference.md §6).
    raw = load_pickle(file_path, encoding="bytes", description="a CIFAR-10 python batch")
    if not isinstance(raw, dict):
        raise EnasError(f"CIFAR-10 file {file_path!r} does not hold a dict batch")
    return {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in raw.items()}


def _pickle_batch(file_path: str) -> Tuple[np.ndarray, np.ndarray]:
    batch = _unpickle(file_path)
    if "data" not in batch or "labels" not in batch:
        raise EnasError(f"CIFAR-10 file {file_path!r} lacks the 'data'/'labels' entries")
    data = np.asarray(batch["data"], dtype=np.uint8)
    labels = np.asarray(batch["labels"], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != IMAGE_BYTES or data.shape[0] != labels.shape[0]:
        raise EnasError(f"CIFAR-10 file {file_path!r} has data of shape {data.shape} for "
                        f"{labels.shape[0]} labels; expected [N, {IMAGE_BYTES}]")
    return _planar_to_nhwc(data), labels


def _planar_to_nhwc(rows: np.ndarray) -> np.ndarray:
    """Rows of R-plane, G-plane, B-plane (32x32 each) -> ``[N, 32, 32, 3]``."""
    return np.ascontiguousarray(rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))


def _load_pickle_folder(folder: str) -> Cifar10Arrays:
    train = [_pickle_batch(f) for f in _training_files(folder, "")]
    test_images, test_labels = _pickle_batch(_require_file(folder, "test_batch"))
    class_names = DEFAULT_CLASS_NAMES
    meta_path = os.path.join(folder, "batches.meta")
    if os.path.isfile(meta_path):
        names = _unpickle(meta_path).get("label_names")
        if names:
            class_names = [n.decode() if isinstance(n, bytes) else str(n) for n in names]
    return _assemble(train, test_images, test_labels, class_names, folder)


# ---------------------------------------------------------------- binary batches


def _bin_batch(file_path: str) -> Tuple[np.ndarray, np.ndarray]:
    raw = np.fromfile(file_path, dtype=np.uint8)
    record = 1 + IMAGE_BYTES   # one label byte, then the planar image
    if raw.size == 0 or raw.size % record:
        raise EnasError(f"CIFAR-10 file {file_path!r} has {raw.size} bytes, not a whole number "
                        f"of {record}-byte records (truncated or not a CIFAR-10 binary batch)")
    rows = raw.reshape(-1, record)
    return _planar_to_nhwc(rows[:, 1:]), rows[:, 0].astype(np.int64)


def _load_bin_folder(folder: str) -> Cifar10Arrays:
    train = [_bin_batch(f) for f in _training_files(folder, ".bin")]
    test_images, test_labels = _bin_batch(_require_file(folder, "test_batch.bin"))
    class_names = DEFAULT_CLASS_NAMES
    meta_path = os.path.join(folder, "batches.meta.txt")
    if os.path.isfile(meta_path):
        with open(meta_path, encoding="utf-8") as f:
            names = [line.strip() for line in f if line.strip()]
        if names:
            class_names = names
    return _assemble(train, test_images, test_labels, class_names, folder)


# ---------------------------------------------------------------- prepared tfds cifar10


def _find_tfds_version_dir(path: str) -> Optional[str]:
    """The ``.../cifar10/<version>`` folder below/at ``path`` holding ``dataset_info.json``."""
    candidates = [path, os.path.join(path, "cifar10")]
    for base in candidates:
        if os.path.isfile(os.path.join(base, "dataset_info.json")):
            return base
        versions = sorted(glob.glob(os.path.join(base, "*", "dataset_info.json")))
        if versions:
            version_dir = os.path.dirname(versions[-1])
            if os.path.basename(os.path.dirname(version_dir)) == "cifar10":
                return version_dir
    return None


def _load_tfds(version_dir: str) -> Cifar10Arrays:
    # Imported lazily: tfds is only needed for this layout.
    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder_from_directory(version_dir)
        splits = {name: tfds.as_numpy(builder.as_dataset(split=name, batch_size=-1))
                  for name in ("train", "test")}
        class_names = list(builder.info.features["label"].names)
    except Exception as exc:  # tfds raises assorted types for half-prepared folders
        raise EnasError(f"cannot read the tfds cifar10 dataset in {version_dir!r}: {exc}") from exc
    train = [(np.asarray(splits["train"]["image"], np.uint8),
              np.asarray(splits["train"]["label"], np.int64))]
    return _assemble(train, np.asarray(splits["test"]["image"], np.uint8),
                     np.asarray(splits["test"]["label"], np.int64), class_names, version_dir)


# ---------------------------------------------------------------- shared


def _assemble(train, test_images, test_labels, class_names, source) -> Cifar10Arrays:
    if not train:
        raise EnasError(f"no CIFAR-10 training batches (data_batch_*) in {source!r}")
    train_images = np.concatenate([images for images, _ in train], axis=0)
    train_labels = np.concatenate([labels for _, labels in train], axis=0)
    for name, labels in (("training", train_labels), ("test", test_labels)):
        if labels.size and (labels.min() < 0 or labels.max() >= len(class_names)):
            raise EnasError(f"CIFAR-10 {name} labels in {source!r} fall outside "
                            f"0..{len(class_names) - 1}")
    return Cifar10Arrays(train_images, train_labels, test_images, test_labels, list(class_names))
