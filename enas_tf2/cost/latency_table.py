"""`LatencyTable`: per-block latencies measured with the LiteRT interpreter on this machine,
summed to predict the latency of whole networks without converting them.

A table is made for one space and its settings, one image size, a thread count and a precision
(`enas-arch latency-table`); it is JSON::

  {"kind": "enas_tf2 latency table", "space": "nb201", "space_config": {...},
   "image_size": [32, 32], "num_classes": 10, "threads": 1, "precision": "int8",
   "interpreter": "ai_edge_litert", "entries": {"nor_conv_3x3@32x32x16": 0.061, ...},
   "validation": {"nets": [...], "mean_abs_error_pct": 4.2}}

Loading one made for another image size is refused: the latencies would be those of other
feature-map sizes.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Dict, List, Optional, Tuple

from enas_tf2.errors import EnasError

KIND = "enas_tf2 latency table"


@dataclasses.dataclass
class LatencyTable:
    """Measured milliseconds per block key, and what they were measured for."""

    space: str
    space_config: dict
    image_size: Tuple[int, int]
    num_classes: int
    threads: int
    precision: str
    interpreter: str
    entries: Dict[str, float]
    validation: Optional[dict] = None

    def predict_ms(self, blocks) -> float:
        """The predicted latency of a network made of `blocks` (their entries summed)."""
        total = 0.0
        for block in blocks:
            if block.free:
                continue
            if block.key not in self.entries:
                raise EnasError(f"the latency table has no entry for {block.key}: it was made "
                                f"for other network settings ({self.describe()}); make one for "
                                f"this run's with enas-arch latency-table")
            total += self.entries[block.key]
        return total

    def describe(self) -> str:
        """``nb201, 32x32 images, 1 thread(s), int8``."""
        return (f"{self.space}, {self.image_size[0]}x{self.image_size[1]} images, "
                f"{self.threads} thread(s), {self.precision}")

    def to_json(self) -> dict:
        """The file's JSON object."""
        obj = {"kind": KIND, **dataclasses.asdict(self)}
        obj["image_size"] = list(self.image_size)
        return obj

    def save(self, path: str) -> None:
        """Writes the table to `path` (its folder is created)."""
        from enas_tf2.json_file import write_json
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        write_json(path, self.to_json())

    @classmethod
    def load(cls, path: str, image_size: Optional[Tuple[int, int]] = None,
             space: Optional[str] = None) -> "LatencyTable":
        """Reads a table; EnasError (one line) when it is missing or malformed, or made for
        another image size or space than the given ones."""
        try:
            with open(path) as f:
                obj = json.load(f)
        except FileNotFoundError:
            raise EnasError(f"latency table {path} does not exist; make one with enas-arch "
                            f"latency-table") from None
        except (OSError, ValueError) as err:
            raise EnasError(f"latency table {path} is not readable JSON ({err})") from None
        if not isinstance(obj, dict) or obj.get("kind") != KIND:
            raise EnasError(f"{path} is not an enas_tf2 latency table (enas-arch latency-table "
                            f"makes them)")
        try:
            table = cls(space=str(obj["space"]), space_config=dict(obj["space_config"]),
                        image_size=(int(obj["image_size"][0]), int(obj["image_size"][1])),
                        num_classes=int(obj["num_classes"]), threads=int(obj["threads"]),
                        precision=str(obj["precision"]), interpreter=str(obj["interpreter"]),
                        entries={str(k): float(v) for k, v in obj["entries"].items()},
                        validation=obj.get("validation"))
        except (KeyError, TypeError, ValueError, IndexError) as err:
            raise EnasError(f"latency table {path} is malformed ({err!r})") from None
        if image_size is not None and tuple(image_size) != table.image_size:
            raise EnasError(f"latency table {path} was measured for {table.image_size[0]}x"
                            f"{table.image_size[1]} images, but this run uses {image_size[0]}x"
                            f"{image_size[1]}; make a table for {image_size[0]}x{image_size[1]} "
                            f"with enas-arch latency-table --image_size={image_size[0]}x"
                            f"{image_size[1]}")
        if space is not None and space != table.space:
            raise EnasError(f"latency table {path} is for the {table.space} space, not {space}")
        return table


def distinct_blocks(space, input_spec, num_archs: int = 200) -> List:
    """Every distinct block of the networks of `num_archs` random architectures of `space` (a
    table measures each once)."""
    seen = {}
    for seed in range(num_archs):
        for block in space.latency_blocks(space.random_arch(seed), input_spec):
            if not block.free:
                seen.setdefault(block.key, block)
    return list(seen.values())
