"""What the converter's planning phase hands to its writing phase (`convert` -> `shard_writer`)."""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional

import numpy as np


@dataclasses.dataclass(frozen=True)
class ImageJob:
    """One image to convert: the file ``path``, or row ``index`` of the uint8 ``array``."""
    name: str                           # how `skipped` and error messages name it
    label: int
    size: int                           # estimated stored bytes, for the automatic shard count
    path: Optional[str] = None
    array: Optional[np.ndarray] = None
    index: int = 0


@dataclasses.dataclass
class ConversionPlan:
    """Everything the writer needs: class names, ordered jobs per non-empty split, source info."""
    class_names: List[str]
    jobs: Dict[str, List[ImageJob]]
    source: Dict
    every_class_needed: bool = False    # folders: a class left without readable images is an error
