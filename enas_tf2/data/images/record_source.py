"""A converted dataset folder (``enas-convert`` output) as the input pipeline sees it.

`open_record_source` reads ``labels.json`` and ``manifest.json`` once, checks that every listed
shard exists with a plausible size, and returns the shard paths per split plus the facts the
pipeline needs (counts, classes, normalisation, image sizes). `check_shards` reads every record
once to find the shard a read error came from; `explain_read_error` turns a ``tf.errors`` raised
while streaming into an EnasError naming that shard.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import re
from typing import Dict, List, Optional, Sequence, Tuple

import tensorflow as tf

from enas_tf2.data import manifest as manifest_lib
from enas_tf2.data import records
from enas_tf2.errors import EnasError

# TFRecord framing per record: 8-byte length, 4-byte length CRC, payload, 4-byte payload CRC.
RECORD_OVERHEAD_BYTES = 16


@dataclasses.dataclass
class RecordSource:
    """The shards and metadata of one converted dataset folder.

    ``shards`` maps a split name to its shard paths (absent split = no entry); ``counts`` and
    ``bytes`` give records and total shard bytes per split. ``mean``/``std`` (in [0, 1] units)
    and ``train_size_range`` (``((min_h, max_h), (min_w, max_w))``) are None when not recorded.
    """
    root: str
    class_names: List[str]
    shards: Dict[str, List[str]]
    counts: Dict[str, int]
    bytes: Dict[str, int]
    mean: Optional[Tuple[float, float, float]] = None
    std: Optional[Tuple[float, float, float]] = None
    train_size_range: Optional[Tuple[Tuple[int, int], Tuple[int, int]]] = None


def open_record_source(data_path: str) -> RecordSource:
    """Opens an ``enas-convert`` output folder; EnasError naming the problem if it is unusable
    (missing folder, labels or train shards, a listed shard missing or truncated)."""
    if not data_path:
        raise EnasError("no --data_path given for --dataset=tfrecord "
                        "(an enas-convert output folder)")
    root = os.path.expanduser(str(data_path))
    if not os.path.isdir(root):
        raise EnasError(f"data path {root!r} does not exist or is not a folder")
    class_names = _read_class_names(root)
    if os.path.isfile(os.path.join(root, manifest_lib.MANIFEST_FILE)):
        source = _from_manifest(root, class_names, manifest_lib.read_manifest(root))
    else:
        source = _from_glob(root, class_names)
    if not source.shards.get("train") or not source.counts.get("train"):
        raise EnasError(f"{root!r} has no train shards with records (train-*.tfrecord); "
                        "convert a dataset with enas-convert first")
    return source


def _read_class_names(root: str) -> List[str]:
    path = os.path.join(root, manifest_lib.LABELS_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            payload = json.load(f)
    except OSError:
        raise EnasError(f"{path} is missing: is {root!r} an enas-convert output folder?") from None
    except json.JSONDecodeError as exc:
        raise EnasError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    # Lenient: {"class_names": [...]}, {"classes": [...]}, a plain list, or {name: id}.
    names = payload
    if isinstance(payload, dict):
        names = payload.get("class_names") or payload.get("classes")
        if names is None and payload.get("class_to_id"):
            mapping = payload["class_to_id"]
            names = sorted(mapping, key=mapping.get)
    if not isinstance(names, list) or len(names) < 2:
        raise EnasError(f"{path} must list at least two class names (found {names!r})")
    return [str(n) for n in names]


def _from_manifest(root: str, class_names: List[str], manifest: Dict) -> RecordSource:
    source = RecordSource(root, class_names, {}, {}, {})
    for split, entry in (manifest.get("splits") or {}).items():
        if split not in records.SPLITS or not entry.get("count"):
            continue
        paths = []
        for shard in entry.get("shards", []):
            name = shard if isinstance(shard, str) else shard.get("name")
            path = os.path.join(root, name)
            _check_shard_file(path, shard if isinstance(shard, dict) else {})
            paths.append(path)
        source.shards[split] = paths
        source.counts[split] = int(entry["count"])
        source.bytes[split] = sum(os.path.getsize(p) for p in paths)
    norm = manifest.get("normalization") or {}
    if len(norm.get("mean") or []) == 3 and len(norm.get("std") or []) == 3:
        source.mean = tuple(float(v) for v in norm["mean"])
        source.std = tuple(float(v) for v in norm["std"])
    size = (manifest.get("splits", {}).get("train") or {}).get("image_size") or {}
    try:
        source.train_size_range = tuple((int(size[side]["min"]), int(size[side]["max"]))
                                        for side in ("height", "width"))
    except (KeyError, TypeError, ValueError):
        source.train_size_range = None
    return source


def _check_shard_file(path: str, entry: Dict) -> None:
    """A listed shard must exist and be big enough for its records (cheap: no read)."""
    if not os.path.isfile(path):
        raise EnasError(f"shard {path!r} listed in manifest.json is missing")
    size = os.path.getsize(path)
    expected = entry.get("bytes")
    if expected is not None and size != int(expected):
        raise EnasError(f"shard {path!r} has {size} bytes but manifest.json says {expected} "
                        "(truncated or replaced; re-run enas-convert)")
    if size < RECORD_OVERHEAD_BYTES * max(1, int(entry.get("count", 1))):
        raise EnasError(f"shard {path!r} is too small ({size} bytes) to hold its records")


def _from_glob(root: str, class_names: List[str]) -> RecordSource:
    """No manifest (hand-written shards): find shards by name and count their records."""
    source = RecordSource(root, class_names, {}, {}, {})
    for split in records.SPLITS:
        paths = sorted(glob.glob(os.path.join(root, f"{split}-*-of-*.tfrecord")))
        if paths:
            counts = check_shards(root, [split], verify_hash=False, shard_paths={split: paths})
            source.shards[split] = paths
            source.counts[split] = sum(counts.values())
            source.bytes[split] = sum(os.path.getsize(p) for p in paths)
    return source


def _count_records(path: str) -> int:
    """Reads and parses every record of one shard in C++ (no Python per record)."""
    dataset = tf.data.TFRecordDataset(path).map(records.parse_example)
    return int(dataset.reduce(tf.constant(0, tf.int64), lambda n, _: n + 1))


def check_shards(data_path: str, splits: Optional[Sequence[str]] = None, verify_hash: bool = True,
                 shard_paths: Optional[Dict[str, List[str]]] = None) -> Dict[str, int]:
    """Reads every record of every shard once and returns ``{shard file name: records}``.

    Raises EnasError naming the first shard that is missing, fails its manifest sha256 (when
    ``verify_hash`` and the manifest lists one), has a corrupt record (CRC mismatch, truncation)
    or holds a record that is not an image example. Cost: one sequential read of the data.
    """
    root = os.path.expanduser(str(data_path))
    hashes: Dict[str, str] = {}
    if shard_paths is None:
        source = open_record_source(root)
        shard_paths = source.shards
        if verify_hash:
            hashes = _manifest_hashes(root)
    counts = {}
    for split in (splits or records.SPLITS):
        for path in shard_paths.get(split, []):
            name = os.path.basename(path)
            if not os.path.isfile(path):
                raise EnasError(f"shard {path!r} is missing")
            if name in hashes and manifest_lib.sha256_file(path) != hashes[name]:
                raise EnasError(f"shard {path!r} is corrupt: its sha256 differs from manifest.json")
            try:
                counts[name] = _count_records(path)
            except tf.errors.InvalidArgumentError as exc:
                # The bytes are intact (CRCs pass) but a record is not an image example.
                raise EnasError(f"shard {path!r} holds records that are not enas-convert image "
                                f"examples ({_reason(exc)}); was it written by another tool? "
                                f"Convert the images with enas-convert") from None
            except tf.errors.DataLossError as exc:
                raise EnasError(f"shard {path!r} is corrupt: {_reason(exc)}") from None
    return counts


def _manifest_hashes(root: str) -> Dict[str, str]:
    if not os.path.isfile(os.path.join(root, manifest_lib.MANIFEST_FILE)):
        return {}
    manifest = manifest_lib.read_manifest(root)
    return {shard["name"]: shard["sha256"]
            for entry in (manifest.get("splits") or {}).values()
            for shard in entry.get("shards", [])
            if isinstance(shard, dict) and shard.get("sha256")}


def _reason(error: Exception) -> str:
    """The informative sentence of a TensorFlow error message (not the graph-function and
    iterator wrappers TensorFlow puts before it)."""
    text = getattr(error, "message", None) or str(error)
    for pattern in (r"(Feature: \S+ \(data type: \w+\) is required but could not be found)",
                    r"(corrupted record at \d+)", r"(truncated record at \d+)",
                    r"(Received a label value of -?\d+ which is outside the valid range of "
                    r"\[0, \d+\))"):
        match = re.search(pattern, text)
        if match:
            return match.group(1)
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and not line.strip().startswith(("{{", "Graph execution error"))]
    return lines[0] if lines else type(error).__name__


def explain_read_error(data_path: str, error: Exception) -> EnasError:
    """The EnasError to raise for ``error`` (e.g. ``tf.errors.DataLossError``) met while
    streaming ``data_path``: `check_shards` names the bad shard when it finds one; otherwise the
    message says reading failed and quotes TensorFlow's first line. Use in a CLI:
    ``except tf.errors.OpError as e: raise explain_read_error(cfg.data_path, e) from None``."""
    label = re.search(r"Received a label value of (-?\d+) which is outside the valid range of "
                      r"\[0, (\d+)\)", getattr(error, "message", None) or str(error))
    if label:
        return EnasError(f"a record in {data_path!r} has label {label.group(1)}, outside the "
                         f"{label.group(2)} classes of its labels.json; the shards and "
                         f"labels.json disagree: re-run enas-convert")
    try:
        check_shards(data_path)
    except EnasError as named:
        return named
    return EnasError(f"reading the data in {data_path!r} failed: {_reason(error)}")
