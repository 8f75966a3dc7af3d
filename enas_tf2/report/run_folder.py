"""`RunFolder`: the files of one run folder, read tolerantly, for the report and `enas-arch`.

A search folder holds ``arch.json`` (the derived architecture, written at the end),
``progress.jsonl`` (one row per finished epoch) and ``archs.jsonl`` (every evaluated architecture
with its reward and ``kind``: ``controller``, ``epoch_sample``, ``derive``, ``derive_random``). A
final-training folder holds ``run_config.json`` with the trained ``arch``. Unknown fields are kept
and ignored, missing ones are None: the report must read runs of older and newer versions alike.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional, Tuple

from enas_tf2.errors import EnasError
from enas_tf2.json_file import read_jsonl
from enas_tf2.report.arch_loading import arch_from_json, arch_from_tokens

# Files a run may describe its configuration in (first found wins), and the keys under which the
# space's config may sit inside them.
CONFIG_FILES = ("run_config.json", "config.json", "experiment.json")
SPACE_CONFIG_KEYS = ("space_config", "space", "child")


def read_json_file(path: str, what: str) -> Optional[Any]:
    """A JSON file's content, None when absent; EnasError naming the file when malformed."""
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except json.JSONDecodeError as err:
        raise EnasError(f"{what} {path} is not valid JSON ({err.msg} at line {err.lineno})") \
            from None
    except OSError as err:
        raise EnasError(f"cannot read {what} {path}: {err.strerror}") from None


class RunFolder:
    """The readable content of a run folder.

    Args:
      path: the folder.
      space_name: the search space when the caller knows it (else read from the files).

    Attributes:
      progress: rows of ``progress.jsonl``; archs: rows of ``archs.jsonl``;
      arch_obj: the ``arch.json`` object (or a final run's ``run_config.json["arch"]``), or None;
      config: the run's saved configuration object (``{}`` when none); summary: a previous
      ``summary.json`` (``{}`` when none).
    """

    def __init__(self, path: str, space_name: Optional[str] = None):
        if not os.path.isdir(path):
            raise EnasError(f"run folder {path} does not exist or is not a folder")
        self.path = path
        self.progress: List[dict] = [r for r in read_jsonl(self.file("progress.jsonl"))
                                     if isinstance(r, dict)]
        self.archs: List[dict] = [r for r in read_jsonl(self.file("archs.jsonl"))
                                  if isinstance(r, dict) and isinstance(r.get("tokens"), str)]
        self.config: Dict[str, Any] = {}
        for name in CONFIG_FILES:
            obj = read_json_file(self.file(name), "run config")
            if isinstance(obj, dict):
                self.config = obj
                break
        summary = read_json_file(self.file("summary.json"), "summary")
        self.summary: Dict[str, Any] = summary if isinstance(summary, dict) else {}
        arch_obj = read_json_file(self.file("arch.json"), "architecture file")
        if arch_obj is None and isinstance(self.config.get("arch"), dict):
            arch_obj = self.config["arch"]
        self.arch_obj: Optional[dict] = arch_obj
        self.space_name = space_name or self._find_space_name()
        self._space = None

    def file(self, name: str) -> str:
        """Path of `name` inside the folder."""
        return os.path.join(self.path, name)

    def _find_space_name(self) -> Optional[str]:
        for source in (self.arch_obj or {}, self.config, self.summary):
            name = source.get("search_space") if isinstance(source, dict) else None
            if isinstance(name, str):
                return name
        return None

    def space_settings(self) -> Dict[str, Any]:
        """The saved space config fields (may include fields of other parts; filtered later)."""
        for key in SPACE_CONFIG_KEYS:
            value = self.config.get(key)
            if isinstance(value, dict):
                return dict(value)
        return {}

    def task_size(self, key: str) -> Optional[int]:
        """``num_classes`` or ``vocab_size`` the run was trained with: its saved data config
        (``num_classes``, or the number of ``class_names``), else its ``summary.json``."""
        data = self.config.get("data")
        data = data if isinstance(data, dict) else {}
        value = data.get(key)
        if value is None and key == "num_classes" and isinstance(data.get("class_names"), list):
            value = len(data["class_names"]) or None
        if value is None:
            task = self.summary.get("task")
            value = task.get(key) if isinstance(task, dict) else None
        return int(value) if isinstance(value, int) and value > 0 else None

    def is_empty(self) -> bool:
        """True when the folder holds none of the files a run writes."""
        return not (self.progress or self.archs or self.arch_obj)

    def best_arch(self) -> Optional[Tuple[Any, Any]]:
        """``(space, arch)`` of the folder's architecture, or None when there is none yet."""
        if self.arch_obj is None:
            return None
        space, arch = arch_from_json(self.arch_obj, self.space_settings(),
                                     source=f"the architecture in {self.path}", strict=False)
        self._space = space
        return space, arch

    def parse_tokens(self, tokens: str):
        """An architecture of this run from a token string (e.g. an ``archs.jsonl`` row)."""
        if self._space is None:
            if not self.space_name:
                raise EnasError(f"cannot tell the search space of {self.path}: no arch.json and "
                                f"no search_space in its config; pass --search_for")
            self._space, arch = arch_from_tokens(self.space_name, tokens, self.space_settings(),
                                                 strict=False)
            return arch
        return self._space.arch_from_tokens(tokens)
