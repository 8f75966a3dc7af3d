"""Phase 2 of the converter: encode a `ConversionPlan`'s images in a thread pool, write the shards.

Record ``k`` of a split (counting only images that converted) goes to shard ``k % num_shards``; the
plan already fixed a seeded order, so shards are balanced, mixed and reproducible. Results are
consumed in plan order whatever thread finishes first, with a bounded number in flight, so memory
stays flat however large the dataset is.
"""

from __future__ import annotations

import collections
import math
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, Iterator, List, Optional, TextIO, Union

import numpy as np
import tensorflow as tf

from enas_tf2.data import manifest as manifest_lib
from enas_tf2.data.convert.image_encoding import (EncodedImage, UnreadableImage, encode_image_file,
                                          encode_pixels)
from enas_tf2.data.convert.plan import ConversionPlan, ImageJob
from enas_tf2.data.records import encode_example, shard_name
from enas_tf2.errors import EnasError
from enas_tf2.progress import ProgressBar


AUTO_SHARD_BYTES = 64 << 20   # num_shards=0: about this many (estimated) stored bytes per shard
_IN_FLIGHT_PER_WORKER = 4     # enough to keep every thread busy, few enough to bound memory


def shard_count(num_shards: int, jobs: List[ImageJob]) -> int:
    """Shards for one split: ``num_shards`` capped at the record count, or automatic when 0."""
    if num_shards > 0:
        return min(num_shards, len(jobs))
    return max(1, min(len(jobs), math.ceil(sum(j.size for j in jobs) / AUTO_SHARD_BYTES)))


def _encode(job: ImageJob, max_side: int) -> Union[EncodedImage, str]:
    """Worker-thread body: the encoded image, or the reason it was skipped."""
    try:
        if job.path is not None:
            return encode_image_file(job.path, max_side)
        # Arrays: lossless PNG, because the pixels are the ground truth (e.g. CIFAR-10).
        return encode_pixels(job.array[job.index], max_side, "png")
    except UnreadableImage as error:
        return str(error)


def _in_order(pool: ThreadPoolExecutor, jobs: List[ImageJob], max_side: int,
              window: int) -> Iterator[Union[EncodedImage, str]]:
    """Like ``pool.map`` but with at most ``window`` jobs in flight (``map`` submits all at once
    and would hold every finished image in memory)."""
    pending: collections.deque = collections.deque()
    for job in jobs:
        pending.append(pool.submit(_encode, job, max_side))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def _write_split(split: str, jobs: List[ImageJob], plan: ConversionPlan, output_dir: str,
                 n_shards: int, pool: ThreadPoolExecutor, settings: Dict, skipped: List[Dict],
                 written: List[str], bar: Optional[ProgressBar]) -> manifest_lib.SplitStats:
    stats = manifest_lib.SplitStats(plan.class_names)
    paths = [os.path.join(output_dir, shard_name(split, i, n_shards)) for i in range(n_shards)]
    writers = []
    try:
        for path in paths:
            writers.append(tf.io.TFRecordWriter(path))
            written.append(path)
        results = _in_order(pool, jobs, settings["max_side"], settings["window"])
        for job, result in zip(jobs, results):
            if bar is not None:
                bar.update()
            if isinstance(result, str):
                if settings["strict"]:
                    raise EnasError(f"--strict: cannot convert {job.name}: {result}")
                skipped.append({"path": job.name, "reason": result})
                continue
            writers[stats.count % n_shards].write(encode_example(
                result.encoded, result.fmt, job.label, result.height, result.width))
            stats.add(result, job.label)
    finally:
        for writer in writers:
            writer.close()
    if stats.count == 0:
        raise EnasError(f"all {len(jobs)} images of the {split} split are unreadable "
                        f"(first: {skipped[-len(jobs)]['path']}: {skipped[-len(jobs)]['reason']})")
    return stats


def _shard_entries(split: str, output_dir: str, n_shards: int, count: int) -> List[Dict]:
    return [manifest_lib.describe_shard(os.path.join(output_dir, shard_name(split, i, n_shards)),
                                        len(range(i, count, n_shards))) for i in range(n_shards)]


def _check_every_class_kept(class_names: List[str], stats_of: Dict) -> None:
    """A class whose every image was unreadable would leave an id that no record uses."""
    totals = sum(stats.per_class for stats in stats_of.values())
    for name, count in zip(class_names, np.atleast_1d(totals)):
        if count == 0:
            raise EnasError(f"class {name!r} has no readable images (all its files were skipped)")


def write_dataset(plan: ConversionPlan, output_dir: str, *, num_shards: int = 0,
                  max_side: int = 0, strict: bool = False, num_workers: Optional[int] = None,
                  progress_stream: Optional[TextIO] = None) -> Dict:
    """Writes the plan's shards, ``labels.json`` and ``manifest.json``; returns the manifest.

    See `enas_tf2.data.convert.convert.convert` for the arguments. On any error (or interrupt) the files
    written so far are removed, so a folder with a ``manifest.json`` is always complete.
    """
    workers = max(1, num_workers or os.cpu_count() or 1)
    settings = {"max_side": max_side, "strict": strict, "window": _IN_FLIGHT_PER_WORKER * workers}
    total = sum(len(jobs) for jobs in plan.jobs.values())
    bar = ProgressBar(total, "converting", stream=progress_stream) if progress_stream else None
    created_dir = not os.path.exists(output_dir)
    os.makedirs(output_dir, exist_ok=True)
    written: List[str] = []
    skipped: List[Dict] = []
    try:
        stats_of, splits = {}, {}
        with ThreadPoolExecutor(max_workers=workers) as pool:
            try:
                for split, jobs in plan.jobs.items():
                    n_shards = shard_count(num_shards, jobs)
                    stats = _write_split(split, jobs, plan, output_dir, n_shards, pool, settings,
                                         skipped, written, bar)
                    stats_of[split] = stats
                    splits[split] = stats.to_dict(_shard_entries(split, output_dir, n_shards,
                                                                 stats.count))
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
                if bar is not None:
                    bar.close()
        if plan.every_class_needed:
            _check_every_class_kept(plan.class_names, stats_of)
        normalization = stats_of["train"].normalization() if "train" in stats_of else None
        source = dict(plan.source, max_side=max_side or None)
        manifest = manifest_lib.build_manifest(source, plan.class_names, splits, normalization,
                                               skipped)
        labels = manifest_lib.labels_payload(plan.class_names)
        # manifest.json last: its presence marks a complete conversion.
        for name, payload in ((manifest_lib.LABELS_FILE, labels),
                              (manifest_lib.MANIFEST_FILE, manifest)):
            written.append(os.path.join(output_dir, name))
            manifest_lib.write_json(written[-1], payload)
        return manifest
    except BaseException:
        for path in written:
            if os.path.exists(path):
                os.remove(path)
        if created_dir and os.path.isdir(output_dir) and not os.listdir(output_dir):
            os.rmdir(output_dir)
        raise
