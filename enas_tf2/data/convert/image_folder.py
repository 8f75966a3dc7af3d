"""Scanning a folder of class sub-folders, and the seeded stratified train/valid/test split.

Two layouts are accepted:

* ``ROOT/<class>/<image files>`` — one split; the converter splits it by fractions.
* ``ROOT/{train,valid,test}/<class>/<image files>`` — the user's own split (``train`` required;
  ``val``/``validation`` are accepted for ``valid``).

Class ids are the sorted class-folder names' positions (as Keras' ``image_dataset_from_directory``).
Files are not opened here: whether a file is an image is decided by decoding it during conversion.
Hidden files (``.DS_Store`` and the like) are ignored; loose files next to the class folders (e.g. a
``LICENSE.txt``) are not images of any class and are ignored too.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Dict, List, Optional, Tuple

import numpy as np

from enas_tf2.errors import EnasError

# The same names and order as `records.SPLITS`, which is not imported because records.py loads
# TensorFlow: scanning and splitting stay TF-free so bad input fails in a moment, in one line.
SPLITS = ("train", "valid", "test")

_SPLIT_FOLDER_NAMES = {"train": "train", "valid": "valid", "val": "valid", "validation": "valid",
                       "test": "test"}


@dataclasses.dataclass
class FolderScan:
    """What `scan_image_folder` found.

    ``files[split]`` lists ``(relative_path, label, size_in_bytes)`` sorted by path;
    ``split_folders`` tells whether the splits came from ``train/valid/test`` folders (else
    everything is in "train" and still has to be split).
    """
    root: str
    class_names: List[str]
    files: Dict[str, List[Tuple[str, int, int]]]
    split_folders: bool


def _visible_entries(folder: str) -> List[os.DirEntry]:
    with os.scandir(folder) as entries:
        return sorted((e for e in entries if not e.name.startswith(".")), key=lambda e: e.name)


def _class_folders(folder: str) -> Dict[str, str]:
    return {e.name: e.path for e in _visible_entries(folder) if e.is_dir()}


def _files_under(folder: str) -> List[Tuple[str, int]]:
    """Every visible file below ``folder`` (sub-folders included), as (path, size), sorted."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):   # no symlink following: no cycles
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith("."):
                path = os.path.join(dirpath, name)
                found.append((path, os.path.getsize(path)))
    return found


def scan_image_folder(root: str) -> FolderScan:
    """Lists the class folders and their files below ``root``; raises EnasError on a bad layout.

    Errors: missing/not-a-folder input, no class folders, a class folder without files, only one
    class.
    """
    if not os.path.exists(root):
        raise EnasError(f"input folder {root} does not exist")
    if not os.path.isdir(root):
        raise EnasError(f"input {root} is not a folder (--source=image_folder expects class "
                        "folders)")
    top = _class_folders(root)
    if not top:
        raise EnasError(f"input folder {root} has no class sub-folders (expected "
                        "ROOT/<class>/<images> or ROOT/train/<class>/<images>)")
    split_folders = "train" in top and all(name in _SPLIT_FOLDER_NAMES for name in top)
    if split_folders:
        split_dirs = {_SPLIT_FOLDER_NAMES[name]: path for name, path in top.items()}
        classes_per_split = {split: _class_folders(path) for split, path in split_dirs.items()}
    else:
        classes_per_split = {"train": top}
    class_names = sorted(set().union(*classes_per_split.values()))
    if len(class_names) < 2:
        where = ", ".join(class_names) or "none"
        raise EnasError(f"input folder {root} has only one class folder ({where}); classification "
                        "needs at least two")
    class_ids = {name: i for i, name in enumerate(class_names)}
    files: Dict[str, List[Tuple[str, int, int]]] = {}
    for split in SPLITS:
        if split not in classes_per_split:
            continue
        entries = []
        for name, folder in classes_per_split[split].items():
            found = _files_under(folder)
            if not found:
                raise EnasError(f"class folder {folder} has no images")
            entries += [(os.path.relpath(path, root).replace(os.sep, "/"), class_ids[name], size)
                        for path, size in found]
        files[split] = sorted(entries)
    if split_folders and not any(files.get("train", [])):
        raise EnasError(f"{os.path.join(root, 'train')} has no class folders")
    return FolderScan(root=root, class_names=class_names, files=files, split_folders=split_folders)


def check_fraction(name: str, value: float) -> float:
    """Validates one split fraction (``0 <= value < 1``) and returns it as a float."""
    value = float(value)
    if not 0.0 <= value < 1.0 or value != value:
        raise EnasError(f"--{name}={value} is out of range: expected 0 <= fraction < 1")
    return value


def _share(count: int, fraction: float) -> int:
    # Round half up (not Python's banker's rounding): 5 images at 0.1 give 1, 25 at 0.1 give 3.
    return int(np.floor(count * fraction + 0.5))


def stratified_split(labels, valid_fraction: float, test_fraction: float,
                     rng: np.random.Generator,
                     names: Optional[List[str]] = None) -> Dict[str, np.ndarray]:
    """Seeded per-class split of record indices into train/valid/test.

    Per class (in id order) its indices are permuted with ``rng``; the first
    ``round(n * test_fraction)`` go to test, the next ``round(n * valid_fraction)`` to valid, the
    rest to train. Returned index arrays are sorted. Raises EnasError when a split with a positive
    fraction ends up empty or a class would keep no training image. ``names`` (class names) only
    make messages clearer.
    """
    valid_fraction = check_fraction("valid_fraction", valid_fraction)
    test_fraction = check_fraction("test_fraction", test_fraction)
    if valid_fraction + test_fraction >= 1.0:
        raise EnasError(f"--valid_fraction={valid_fraction} plus --test_fraction={test_fraction} "
                        "leaves no training images: their sum must be below 1")
    labels = np.asarray(labels)
    parts: Dict[str, List[np.ndarray]] = {split: [] for split in SPLITS}
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        members = members[rng.permutation(len(members))]
        n_test, n_valid = _share(len(members), test_fraction), _share(len(members), valid_fraction)
        if n_test + n_valid >= len(members):
            name = names[label] if names is not None else str(label)
            raise EnasError(f"class {name!r} has only {len(members)} images: too few to give "
                            f"{n_valid} to valid and {n_test} to test and keep any for training")
        parts["test"].append(members[:n_test])
        parts["valid"].append(members[n_test:n_test + n_valid])
        parts["train"].append(members[n_test + n_valid:])
    result = {split: np.sort(np.concatenate(parts[split])) for split in SPLITS}
    for split, fraction in (("valid", valid_fraction), ("test", test_fraction)):
        if fraction > 0 and result[split].size == 0:
            raise EnasError(f"--{split}_fraction={fraction} leaves the {split} split empty with "
                            f"{labels.size} images; raise the fraction or set it to 0")
    return result
