"""The one JSON writer of the package (run files, exports, converter manifests) and the JSON-lines
reader of run logs. TensorFlow-free, so the converter's planning phase can use it."""

from __future__ import annotations

import json
import os
import re


def jsonable(value):
    """JSON-able form of tensors and numpy values (`json.dumps` default=)."""
    if hasattr(value, "numpy"):
        value = value.numpy()
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


_FLAT_LIST = re.compile(r"\[\s+([-\d.e,\s]+?)\s+\]")


def write_json(path: str, obj: dict) -> None:
    """Writes `obj` as indented JSON atomically (a kill never leaves half a file); lists of
    numbers stay on one line so an architecture reads as rows of tokens."""
    text = json.dumps(obj, indent=2, default=jsonable, ensure_ascii=False)
    text = _FLAT_LIST.sub(lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]",
                          text)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    os.replace(tmp, path)


def write_jsonl(path: str, rows: list) -> None:
    """Rewrites a JSON-lines file atomically (a kill leaves the old or the new file whole)."""
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r, default=jsonable) + "\n" for r in rows)
    os.replace(tmp, path)


def read_jsonl(path: str) -> list:
    """Reads a JSON-lines file; a torn last line (killed mid-write) is ignored."""
    if not os.path.exists(path):
        return []
    rows = []
    with open(path) as f:
        for line in f:
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                break
    return rows
