"""``manifest.json`` and ``labels.json`` of a converted dataset, and the statistics they hold.

Layout of ``manifest.json`` (splits with no records are absent from ``splits``)::

    {"format": "enas_tf2.tfrecord", "version": 1,
     "source": {"type": ..., "input": ..., "layout": ..., "seed": ..., "max_side": ...,
                "valid_fraction": ..., "test_fraction": ...},
     "num_classes": 5, "class_names": ["daisy", ...],
     "splits": {"train": {"count": 240, "per_class": {"daisy": 48, ...},
                          "shards": [{"name": "train-00000-of-00001.tfrecord", "count": 240,
                                      "bytes": ..., "sha256": ...}],
                          "image_size": {"height": {"min": .., "max": .., "mean": ..},
                                         "width": {...}},
                          "formats": {"jpeg": 240}, "reencoded": 0}, ...},
     "normalization": {"mean": [r, g, b], "std": [r, g, b], "split": "train"},
     "skipped": [{"path": "roses/x.jpg", "reason": "truncated JPEG (...)"}]}

``labels.json`` is ``{"class_names": [...], "class_to_id": {name: id}}``.
Nothing time- or machine-dependent is written, so the same input and seed give the same files.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import TYPE_CHECKING, Dict, List, Optional

import numpy as np

from enas_tf2.errors import EnasError
from enas_tf2.json_file import write_json  # noqa: F401  (re-exported for the converter)

if TYPE_CHECKING:   # only for annotations: importing it would load TensorFlow
    from enas_tf2.data.convert.image_encoding import EncodedImage

MANIFEST_FILE = "manifest.json"
LABELS_FILE = "labels.json"
FORMAT_NAME = "enas_tf2.tfrecord"
FORMAT_VERSION = 1


class SplitStats:
    """Running counts and statistics of one split, fed image by image in record order."""

    def __init__(self, class_names: List[str]):
        self.class_names = list(class_names)
        self.per_class = np.zeros(len(class_names), np.int64)
        self.heights: List[int] = []
        self.widths: List[int] = []
        self.formats: Dict[str, int] = {}
        self.reencoded = 0
        self.histogram = np.zeros((3, 256), np.int64)   # pixel-value counts per RGB channel

    @property
    def count(self) -> int:
        """Records added so far."""
        return len(self.heights)

    def add(self, image: "EncodedImage", label: int) -> None:
        """Counts one stored image of class ``label``."""
        self.per_class[label] += 1
        self.heights.append(image.height)
        self.widths.append(image.width)
        self.formats[image.fmt] = self.formats.get(image.fmt, 0) + 1
        self.reencoded += int(image.reencoded)
        self.histogram += image.histogram

    def normalization(self) -> Dict[str, List[float]]:
        """Per-channel mean and population std of all pixels, in [0, 1] units."""
        values = np.arange(256, dtype=np.float64) / 255.0
        total = self.histogram.sum(axis=1).astype(np.float64)
        if not total.all():
            return {"mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0]}
        mean = self.histogram @ values / total
        var = self.histogram @ (values ** 2) / total - mean ** 2
        std = np.sqrt(np.maximum(var, 0.0))
        return {"mean": [round(float(m), 6) for m in mean],
                "std": [round(float(s), 6) for s in std]}

    def to_dict(self, shards: List[Dict]) -> Dict:
        """The split's manifest entry; ``shards`` as returned by `describe_shard`."""
        def summary(values: List[int]) -> Dict[str, float]:
            return {"min": int(min(values)), "max": int(max(values)),
                    "mean": round(float(np.mean(values)), 2)}
        return {
            "count": self.count,
            "per_class": {name: int(n) for name, n in zip(self.class_names, self.per_class)},
            "shards": shards,
            "image_size": {"height": summary(self.heights), "width": summary(self.widths)},
            "formats": dict(sorted(self.formats.items())),
            "reencoded": self.reencoded,
        }


def sha256_file(path: str) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def describe_shard(path: str, count: int) -> Dict:
    """The manifest entry of one written shard file."""
    return {"name": os.path.basename(path), "count": int(count),
            "bytes": os.path.getsize(path), "sha256": sha256_file(path)}


def build_manifest(source: Dict, class_names: List[str], splits: Dict[str, Dict],
                   normalization: Optional[Dict], skipped: List[Dict]) -> Dict:
    """Assembles the manifest dictionary (see the module docstring for the layout)."""
    manifest = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "source": source,
                "num_classes": len(class_names), "class_names": list(class_names),
                "splits": splits}
    if normalization is not None:
        manifest["normalization"] = dict(normalization, split="train")
    manifest["skipped"] = skipped
    return manifest


def labels_payload(class_names: List[str]) -> Dict:
    """The content of ``labels.json``."""
    return {"class_names": list(class_names),
            "class_to_id": {name: i for i, name in enumerate(class_names)}}


def read_manifest(output_dir: str) -> Dict:
    """Loads ``DIR/manifest.json`` of a converted dataset; EnasError if missing or malformed."""
    path = os.path.join(output_dir, MANIFEST_FILE)
    try:
        with open(path, encoding="utf-8") as handle:
            manifest = json.load(handle)
    except OSError as error:
        raise EnasError(f"cannot read {path} ({error.strerror or error}); is {output_dir} an "
                        "enas-convert output folder?") from None
    except json.JSONDecodeError as error:
        raise EnasError(f"{path} is not valid JSON ({error.msg} at line {error.lineno})") from None
    # Only the shape is checked, not "format": hand-written manifests (benchmarks) are fine too.
    if not isinstance(manifest, dict) or not isinstance(manifest.get("splits"), dict):
        raise EnasError(f"{path} is not an enas-convert manifest (no 'splits' object)")
    return manifest
