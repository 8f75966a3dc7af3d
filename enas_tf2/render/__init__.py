"""Pictures of architectures: a space draws an `ArchGraph`; this package writes DOT, SVG and PNG.

Hooks for the training loops:

* `tensorboard_image(arch)` → ``uint8 [H, W, 3]`` for ``tf.summary.image`` (add a batch axis),
  or `enas_tf2.render.tensorboard.write_arch_image(writer, arch, step)` to write it;
* `render_arch_files(arch, directory)` → writes ``arch.png`` and ``arch.svg`` (and ``arch.dot`` on
  request) into a run or export folder and returns their paths.
"""

from __future__ import annotations

import os
from typing import Dict, Sequence

import numpy as np

from enas_tf2.errors import EnasError
from enas_tf2.render.arch_graph import ArchGraph
from enas_tf2.render.dot import to_dot
from enas_tf2.render.graphs import drawable_spaces, graph_for
from enas_tf2.render.svg import to_svg

FORMATS = ("png", "svg", "dot")

__all__ = ["ArchGraph", "FORMATS", "drawable_spaces", "graph_for", "render_arch_files",
           "render_graph_files", "tensorboard_image", "to_dot", "to_svg"]


def tensorboard_image(arch, max_side: int = 1600) -> np.ndarray:
    """The picture of `arch` as ``uint8 [H, W, 3]`` (at most `max_side` pixels per side)."""
    from enas_tf2.render.png import to_array
    return to_array(graph_for(arch), max_side=max_side)


def render_graph_files(graph: ArchGraph, directory: str, stem: str = "arch",
                       formats: Sequence[str] = ("png", "svg")) -> Dict[str, str]:
    """Writes ``<stem>.<format>`` files of `graph` into `directory`; returns format → path."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise EnasError(f"unknown picture format(s) {', '.join(unknown) or '(none given)'}; "
                        f"choose from {', '.join(FORMATS)}")
    os.makedirs(directory, exist_ok=True)
    paths = {}
    for fmt in formats:
        path = os.path.join(directory, f"{stem}.{fmt}")
        if fmt == "png":
            from enas_tf2.render.png import to_png
            data = to_png(graph)
        else:
            data = (to_svg(graph) if fmt == "svg" else to_dot(graph)).encode("utf-8")
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        paths[fmt] = path
    return paths


def render_arch_files(arch, directory: str, stem: str = "arch",
                      formats: Sequence[str] = ("png", "svg")) -> Dict[str, str]:
    """Writes the picture of `arch` (any space's `Arch`) as ``<stem>.png``/``.svg``/``.dot``."""
    return render_graph_files(graph_for(arch), directory, stem, formats)
