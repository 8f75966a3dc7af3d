"""Reading ``--source=arrays`` input: a ``.npz`` or pickle file of uint8 images and integer labels.

Accepted keys (a pickle must hold a dict with the same keys; bytes keys are fine):

* one pool, split by the converter's fractions: ``images`` + ``labels`` (or ``x`` + ``y``);
* or ready splits: ``train_images`` + ``train_labels`` (or ``x_train`` + ``y_train``), and
  optionally the same for ``valid`` and ``test`` (the layout ``keras.datasets`` arrays have);
* optional ``class_names``: one name per class id; without it classes are named "0", "1", ...

Images are ``[N, H, W, C]`` uint8 with C in {1, 3, 4} (gray is replicated, alpha dropped) or
``[N, H, W]`` gray. Labels are integers of shape ``[N]`` or ``[N, 1]``.
"""

from __future__ import annotations

import dataclasses
import os
import zipfile
from typing import Dict, List, Tuple

import numpy as np

from enas_tf2.data.convert.image_folder import SPLITS   # TF-free copy of records.SPLITS
from enas_tf2.data.safe_pickle import load_pickle
from enas_tf2.errors import EnasError

_POOL_KEYS = (("images", "labels"), ("x", "y"))


@dataclasses.dataclass
class ArrayData:
    """Validated arrays: ``splits`` maps "pool" (to be split) or split names to (images, labels)."""
    splits: Dict[str, Tuple[np.ndarray, np.ndarray]]
    class_names: List[str]

    @property
    def is_pool(self) -> bool:
        """True when the file held one unsplit pool of images."""
        return "pool" in self.splits


def _split_keys(split: str) -> Tuple[Tuple[str, str], ...]:
    return ((f"{split}_images", f"{split}_labels"), (f"x_{split}", f"y_{split}"))


def _read_mapping(path: str) -> Dict[str, object]:
    if not os.path.isfile(path):
        raise EnasError(f"arrays file {path} does not exist")
    if zipfile.is_zipfile(path):          # .npz files are zip archives
        try:
            # allow_pickle=False: an object array inside an .npz would be a pickle too.
            with np.load(path, allow_pickle=False) as npz:
                return {key: npz[key] for key in npz.files}
        except Exception as error:  # noqa: BLE001 - any parse failure means "not a usable file"
            raise EnasError(f"cannot read {path} as .npz: {error}") from None
    # Not a zip: a pickle, read by the restricted unpickler (plain data only, never code);
    # encoding="bytes" so py2-era numpy payloads survive. It raises EnasError naming the file.
    payload = load_pickle(path, encoding="bytes", description=".npz or pickle")
    if not isinstance(payload, dict):
        raise EnasError(f"pickle {path} holds a {type(payload).__name__}, expected a dict of "
                        "arrays")
    return {(k.decode() if isinstance(k, bytes) else str(k)): v for k, v in payload.items()}


def _check_images(images, where: str) -> np.ndarray:
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise EnasError(f"{where} images have dtype {images.dtype}; expected uint8 pixels 0..255")
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3, 4):
        raise EnasError(f"{where} images have shape {images.shape}; expected [N, H, W, C] with "
                        "C = 1, 3 or 4")
    if images.shape[0] == 0 or images.shape[1] == 0 or images.shape[2] == 0:
        raise EnasError(f"{where} images are empty (shape {images.shape})")
    return images


def _check_labels(labels, count: int, where: str) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.dtype == np.bool_ or not np.issubdtype(labels.dtype, np.integer):
        raise EnasError(f"{where} labels have dtype {labels.dtype}; expected integer class ids")
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1 or labels.shape[0] != count:
        raise EnasError(f"{where} labels have shape {labels.shape}; expected [{count}] "
                        "(one class id per image)")
    return labels.astype(np.int64)


def load_array_file(path: str) -> ArrayData:
    """Reads and validates an arrays file; raises EnasError naming the key or value at fault."""
    mapping = _read_mapping(path)
    found: Dict[str, Tuple[np.ndarray, np.ndarray]] = {}
    for split, candidates in [("pool", _POOL_KEYS)] + [(s, _split_keys(s)) for s in SPLITS]:
        for image_key, label_key in candidates:
            if image_key in mapping and label_key in mapping:
                where = f"{path} [{image_key!r}]"
                images = _check_images(mapping[image_key], where)
                found[split] = (images, _check_labels(mapping[label_key], len(images),
                                                      f"{path} [{label_key!r}]"))
                break
    if not found or ("pool" in found and len(found) > 1) or ("pool" not in found
                                                             and "train" not in found):
        raise EnasError(f"{path} holds keys {sorted(mapping)}: expected 'images' and 'labels' (or "
                        "'x'/'y'), or 'x_train'/'y_train' with optional valid/test pairs")
    all_labels = np.concatenate([labels for _, labels in found.values()])
    if all_labels.min() < 0:
        raise EnasError(f"labels in {path} are out of range: found {int(all_labels.min())}, but "
                        "class ids must be 0 or more")
    if "class_names" in mapping:
        class_names = [n.decode() if isinstance(n, bytes) else str(n)
                       for n in np.asarray(mapping["class_names"]).ravel().tolist()]
        if all_labels.max() >= len(class_names):
            raise EnasError(f"labels in {path} are out of range: found {int(all_labels.max())}, "
                            f"but 'class_names' names {len(class_names)} classes "
                            f"(ids 0..{len(class_names) - 1})")
    else:
        class_names = [str(i) for i in range(int(all_labels.max()) + 1)]
    if np.unique(all_labels).size < 2:
        raise EnasError(f"{path} holds only one class (label {int(all_labels[0])}); "
                        "classification needs at least two")
    return ArrayData(splits=found, class_names=class_names)
