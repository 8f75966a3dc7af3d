"""``--skip_corrupt_records``: read around damaged TFRecord shards instead of stopping.

By default a corrupt record (CRC mismatch, truncated shard) met while streaming stops the run with
one line naming the shard (`record_source.explain_read_error`), the last checkpoint kept. With
``skip_corrupt_records`` every shard is read with ``ignore_errors``: the reader stops at the first
unreadable record of a shard and moves on to the next shard (a TFRecord file cannot be re-synced
after a damaged record). `scan_and_report` reads every shard once at start (C++, no decoding),
logs one line per damaged shard with how many of its records are lost, and lowers the split
counts so that steps per epoch match what can be read.
"""

from __future__ import annotations

import logging
import os
from typing import Dict, List

import tensorflow as tf

from enas_tf2.data import manifest as manifest_lib
from enas_tf2.errors import EnasError

LOGGER = logging.getLogger("enas_tf2")


def read_shard(path, skip_corrupt: bool) -> tf.data.Dataset:
    """The serialised records of one shard (a path tensor or string); with `skip_corrupt`, a
    damaged record ends the shard instead of raising."""
    dataset = tf.data.TFRecordDataset(path)
    return dataset.ignore_errors() if skip_corrupt else dataset


def read_shards(paths: List[str], skip_corrupt: bool) -> tf.data.Dataset:
    """All records of `paths` in order (one pass)."""
    if not skip_corrupt:
        return tf.data.TFRecordDataset(paths)
    return tf.data.Dataset.from_tensor_slices(paths).flat_map(lambda p: read_shard(p, True))


def readable_records(path: str) -> int:
    """Records of `path` read before its first damaged one (all of them when it is intact)."""
    dataset = read_shard(path, True)
    return int(dataset.reduce(tf.constant(0, tf.int64), lambda n, _: n + 1))


def _listed_counts(root: str) -> Dict[str, int]:
    """Records per shard file name as listed in manifest.json ({} without a manifest)."""
    if not os.path.isfile(os.path.join(root, manifest_lib.MANIFEST_FILE)):
        return {}
    manifest = manifest_lib.read_manifest(root)
    return {shard["name"]: int(shard.get("count", 0))
            for entry in (manifest.get("splits") or {}).values()
            for shard in entry.get("shards", []) if isinstance(shard, dict)}


def scan_and_report(source) -> List[str]:
    """Counts the readable records of every shard of `source` (a `RecordSource`), lowers its
    split counts by the lost ones, logs and returns one line per damaged shard. EnasError when
    the training split has nothing readable left."""
    listed = _listed_counts(source.root)
    lines = []
    for split, paths in source.shards.items():
        lost = 0
        for path in paths:
            name = os.path.basename(path)
            readable = readable_records(path)
            expected = listed.get(name)
            if expected is None or readable >= expected:
                continue
            lost += expected - readable
            lines.append(f"--skip_corrupt_records: {name} is damaged: {readable} of its "
                         f"{expected} records are readable, {expected - readable} skipped")
        if lost:
            source.counts[split] = max(0, source.counts[split] - lost)
    for line in lines:
        LOGGER.warning("warning: %s", line)
    if not source.counts.get("train"):
        raise EnasError(f"no readable training records left in {source.root!r}; re-run "
                        f"enas-convert")
    return lines
