"""``enas-convert``'s library: CIFAR-10, image folders or arrays → sharded TFRecords + manifest.

Two phases:

1. *Plan* (this module, no TensorFlow): read the input's layout, validate it, split it, and fix the
   record order — a list of `ImageJob`s per split. All the user's layout mistakes surface here, in
   a fraction of a second and without TensorFlow's start-up chatter.
2. *Write* (`shard_writer`): a thread pool decodes/validates/encodes the jobs while the main thread
   writes them, in plan order, round-robin into the split's shards; then the manifest.

Determinism: the plan depends only on the input and the seed (sorted file lists, seeded split,
seeded record order) and the writer consumes results in plan order, so the same input and seed
give byte-identical shards.
"""

from __future__ import annotations

import os
from typing import Callable, Dict, List, Optional, TextIO

import numpy as np

from enas_tf2.data import manifest as manifest_lib
from enas_tf2.data.convert.array_file import load_array_file
from enas_tf2.data.convert.plan import ConversionPlan, ImageJob
from enas_tf2.data.convert.image_folder import SPLITS, check_fraction, scan_image_folder, stratified_split
from enas_tf2.errors import EnasError

SOURCES = ("cifar10", "image_folder", "arrays")
# (valid, test) shares when the user gives none and the input is one unsplit pool. Inputs that come
# split (cifar10, split folders/arrays) get no extra split unless --valid_fraction asks for one.
DEFAULT_FRACTIONS = (0.1, 0.1)


def _ordered(rng: np.random.Generator, jobs: List[ImageJob]) -> List[ImageJob]:
    # Seeded record order: each shard then mixes classes, so a streaming reader with a bounded
    # shuffle buffer still sees well-mixed batches.
    return [jobs[i] for i in rng.permutation(len(jobs))]


def _tail_count(count: int, valid_fraction: float) -> int:
    """How many trailing training records become validation (the original CIFAR convention)."""
    n_valid = int(np.floor(count * valid_fraction + 0.5))
    if valid_fraction > 0 and n_valid == 0:
        raise EnasError(f"--valid_fraction={valid_fraction} of {count} training images leaves the "
                        "valid split empty; raise it or set it to 0")
    return n_valid


def _array_jobs(images: np.ndarray, labels: np.ndarray, indices, prefix: str) -> List[ImageJob]:
    size = int(np.prod(images.shape[1:3])) * 3 // 2    # PNG of natural images: about half of raw
    return [ImageJob(f"{prefix}[{i}]", int(labels[i]), size, array=images, index=int(i))
            for i in indices]


def _with_defaults(given) -> tuple:
    return tuple(default if value is None else value
                 for value, default in zip(given, DEFAULT_FRACTIONS))


def _plan_image_folder(input_path: str, given, seed: int) -> ConversionPlan:
    scan = scan_image_folder(input_path)
    rng = np.random.default_rng(seed)

    def job(entry) -> ImageJob:
        rel, label, size = entry
        return ImageJob(rel, label, size, path=os.path.join(input_path, rel))

    if scan.split_folders:
        if any(given):      # a positive share that cannot apply is an error, not ignored
            raise EnasError(f"{input_path} already has train/valid/test folders: "
                            "--valid_fraction/--test_fraction do not apply")
        jobs = {split: [job(e) for e in entries] for split, entries in scan.files.items()}
        layout, fractions = "split_folders", (None, None)
    else:
        entries, fractions = scan.files["train"], _with_defaults(given)
        parts = stratified_split([e[1] for e in entries], *fractions, rng, scan.class_names)
        jobs = {split: [job(entries[i]) for i in parts[split]] for split in SPLITS}
        layout = "class_folders"
    jobs = {split: _ordered(rng, js) for split, js in jobs.items() if js}
    return ConversionPlan(scan.class_names, jobs, {"layout": layout, "valid_fraction": fractions[0],
                                                   "test_fraction": fractions[1]},
                          every_class_needed=True)


def _plan_cifar10(input_path: str, given, seed: int) -> ConversionPlan:
    from enas_tf2.data.images.cifar10 import load_cifar10   # pylint: disable=import-outside-toplevel
    fractions = (given[0] or 0.0, None)
    if given[1]:
        raise EnasError("--test_fraction does not apply to --source=cifar10: its test batch is "
                        "the test split")
    data = load_cifar10(input_path)
    n_train = len(data.train_labels)
    n_valid = _tail_count(n_train, fractions[0])
    train_images, train_labels = data.train_images, data.train_labels
    jobs = {
        "train": _array_jobs(train_images, train_labels, range(n_train - n_valid), "train"),
        "valid": _array_jobs(train_images, train_labels, range(n_train - n_valid, n_train),
                             "train"),
        "test": _array_jobs(data.test_images, data.test_labels, range(len(data.test_labels)),
                            "test"),
    }
    rng = np.random.default_rng(seed)
    jobs = {split: _ordered(rng, js) for split, js in jobs.items() if js}
    return ConversionPlan(list(data.class_names), jobs, {"layout": "cifar10",
                                                         "valid_fraction": fractions[0],
                                                         "test_fraction": None})


def _plan_arrays(input_path: str, given, seed: int) -> ConversionPlan:
    data = load_array_file(input_path)
    rng = np.random.default_rng(seed)
    if data.is_pool:
        images, labels = data.splits["pool"]
        fractions = _with_defaults(given)
        parts = stratified_split(labels, *fractions, rng, data.class_names)
        jobs = {split: _array_jobs(images, labels, parts[split], "images") for split in SPLITS}
        layout = "arrays"
    else:
        fractions = (given[0] or 0.0, None)
        if given[1]:
            raise EnasError(f"{input_path} already holds split arrays: --test_fraction does not "
                            "apply")
        jobs = {split: _array_jobs(*data.splits[split], range(len(data.splits[split][1])), split)
                for split in SPLITS if split in data.splits}
        if fractions[0] > 0:
            if "valid" in data.splits:
                raise EnasError(f"{input_path} already holds valid arrays: --valid_fraction does "
                                "not apply")
            keep = len(jobs["train"]) - _tail_count(len(jobs["train"]), fractions[0])
            jobs["train"], jobs["valid"] = jobs["train"][:keep], jobs["train"][keep:]
        layout = "split_arrays"
    jobs = {split: _ordered(rng, js) for split, js in jobs.items() if js}
    return ConversionPlan(data.class_names, jobs, {"layout": layout, "valid_fraction": fractions[0],
                                                   "test_fraction": fractions[1]})


def _check_output_dir(output_dir: str, input_path: str) -> None:
    if not output_dir:
        raise EnasError("no --output_dir given")
    out, src = os.path.realpath(output_dir), os.path.realpath(input_path)
    if os.path.isdir(src) and (out == src or out.startswith(src + os.sep)):
        raise EnasError(f"--output_dir {output_dir} is inside --input {input_path}; choose a "
                        "folder outside the input")
    if os.path.exists(output_dir):
        if not os.path.isdir(output_dir):
            raise EnasError(f"--output_dir {output_dir} exists and is not a folder")
        leftovers = sorted(n for n in os.listdir(output_dir)
                           if n.endswith(".tfrecord") or n in (manifest_lib.MANIFEST_FILE,
                                                               manifest_lib.LABELS_FILE))
        if leftovers:
            raise EnasError(f"--output_dir {output_dir} already holds a converted dataset "
                            f"({leftovers[0]}, ...); delete it or choose another folder")


def plan_conversion(source: str, input_path: str, output_dir: str, *,
                    valid_fraction: Optional[float] = None, test_fraction: Optional[float] = None,
                    seed: int = 0) -> ConversionPlan:
    """Phase 1 of `convert` (no TensorFlow): validates the arguments and input, fixes the plan.

    Raises EnasError for an unknown source, missing/empty input, a bad layout or bad arrays,
    fractions that leave a split empty, or an output folder that already holds a conversion.
    """
    if source not in SOURCES:
        raise EnasError(f"unknown --source {source!r}: expected one of {', '.join(SOURCES)}")
    if not input_path:
        raise EnasError("no --input given")
    given = tuple(None if value is None else check_fraction(name, value)
                  for name, value in (("valid_fraction", valid_fraction),
                                      ("test_fraction", test_fraction)))
    input_path, output_dir = os.path.expanduser(input_path), os.path.expanduser(output_dir or "")
    _check_output_dir(output_dir, input_path)
    planner = {"image_folder": _plan_image_folder, "cifar10": _plan_cifar10,
               "arrays": _plan_arrays}[source]
    plan = planner(input_path, given, seed)
    plan.source = dict({"type": source, "input": os.path.abspath(input_path), "seed": seed},
                       **plan.source)
    return plan


def convert(source: str, input_path: str, output_dir: str, *, num_shards: int = 0,
            max_side: int = 0, valid_fraction: Optional[float] = None,
            test_fraction: Optional[float] = None, seed: int = 0, strict: bool = False,
            num_workers: Optional[int] = None, progress_stream: Optional[TextIO] = None,
            before_write: Optional[Callable[[], object]] = None) -> Dict:
    """Converts a dataset into ``output_dir``: shards, ``labels.json`` and ``manifest.json``.

    Args:
      source: "cifar10", "image_folder" or "arrays".
      input_path: the CIFAR-10 batches folder (or its parent), the image folder, or the arrays file.
      output_dir: created if missing; must not already hold a converted dataset.
      num_shards: shards per split (capped at the split's record count); 0 = about one per 64 MiB.
      max_side: shrink images whose longer side exceeds this (aspect ratio kept); 0 = never.
      valid_fraction, test_fraction: split shares; None = 0.1 each for an unsplit image folder or
        array pool. Inputs that come split (cifar10, train/valid/test folders or arrays) get no
        extra split by default; for cifar10 and split arrays a valid_fraction takes the tail of
        the training part (the original CIFAR convention).
      seed: seeds the split and the record order (same input + seed → byte-identical shards).
      strict: raise EnasError on the first unreadable file instead of skipping it.
      num_workers: decoding threads (default: CPU count).
      progress_stream: where a progress bar goes (drawn only if it is a terminal); None = no bar.
      before_write: called once the plan is valid, before TensorFlow loads for the writing
        (the CLI loads TensorFlow quietly there).

    Returns the manifest that was written. Raises EnasError on bad input; on any error the files
    written so far are removed.
    """
    if num_shards < 0 or max_side < 0:
        raise EnasError(f"--num_shards={num_shards} and --max_side={max_side} must be 0 or more")
    plan = plan_conversion(source, input_path, output_dir, valid_fraction=valid_fraction,
                           test_fraction=test_fraction, seed=seed)
    output_dir = os.path.expanduser(output_dir)
    if before_write is not None:
        before_write()
    # Imported only now: TensorFlow's start-up is paid once the input is known to be usable.
    from enas_tf2.data.convert.shard_writer import write_dataset  # pylint: disable=import-outside-toplevel
    return write_dataset(plan, output_dir, num_shards=num_shards, max_side=max_side, strict=strict,
                         num_workers=num_workers, progress_stream=progress_stream)
