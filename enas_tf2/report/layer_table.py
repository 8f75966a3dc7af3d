"""Per-layer output shapes and parameter counts of a built Keras model, for `enas-arch show`.

Keras 3 has no forward hooks, so each sub-layer's ``call`` is wrapped on the instance for one
forward pass on a zero batch and restored afterwards; rows come out in the order the layers were
entered (the order a reader follows the network, each layer before its children), then the layers
the pass never called (e.g. an aux head at inference).
"""

from __future__ import annotations

from typing import Any, Dict, List, NamedTuple

import numpy as np


class _Row(NamedTuple):
    path: str            # "cell_0/node2_x1"
    depth: int           # 0 for direct sub-layers of the model
    type_name: str
    shape: str           # "1x32x32x60", "" when not called
    calls: int
    params: int          # trainable parameters of the layer (its sub-layers included)


def _shape_text(out: Any) -> str:
    if isinstance(out, (list, tuple)):
        return ", ".join(_shape_text(o) for o in out)
    shape = getattr(out, "shape", None)
    return "x".join("?" if d is None else str(int(d)) for d in shape) if shape is not None else ""


def _trainable(layer) -> int:
    return int(sum(int(np.prod(v.shape)) for v in layer.trainable_weights))


def layer_table(model, example_input, depth: int = 2, **call_kwargs) -> List[_Row]:
    """Runs ``model(example_input, **call_kwargs)`` once and lists sub-layers down to `depth`."""
    found: List[tuple] = []      # (path, depth, layer) in tracking order
    order: Dict[str, int] = {}
    records: Dict[str, list] = {}

    def walk(layer, prefix: str, level: int) -> None:
        for sub in layer._flatten_layers(include_self=False, recursive=False):
            path = prefix + sub.name
            found.append((path, level, sub))
            if level + 1 < depth:
                walk(sub, path + "/", level + 1)

    walk(model, "", 0)
    patched = []
    for path, _, sub in found:
        original = sub.call

        def wrapper(*args, _original=original, _path=path, **kwargs):
            order.setdefault(_path, len(order))   # on entry: a parent precedes its children
            out = _original(*args, **kwargs)
            records.setdefault(_path, []).append(_shape_text(out))
            return out

        sub.call = wrapper
        patched.append(sub)
    try:
        model(example_input, **call_kwargs)
    finally:
        for sub in patched:
            try:
                del sub.call           # back to the class's method
            except AttributeError:
                pass
    rows = [_Row(path, level, type(sub).__name__, records.get(path, [""])[0],
                 len(records.get(path, [])), _trainable(sub)) for path, level, sub in found]
    # Order of first entry: depth-first, each layer followed by the children it called.
    called = sorted((r for r in rows if r.calls), key=lambda r: order[r.path])
    return called + [r for r in rows if not r.calls]


def format_layer_table(rows: List[_Row]) -> str:
    """The rows as aligned text: layer (indented by depth), type, output shape, params."""
    head = ("layer", "type", "output shape", "params")
    cells = [(("  " * r.depth) + r.path.rsplit("/", 1)[-1], r.type_name,
              (r.shape or "(not called)") + (f" x{r.calls} calls" if r.calls > 1 else ""),
              f"{r.params:,}") for r in rows]
    widths = [max(len(c[i]) for c in cells + [head]) for i in range(4)]

    def line(c):
        return "  ".join(c[i].ljust(widths[i]) if i < 3 else c[i].rjust(widths[i])
                         for i in range(4))

    return "\n".join([line(head), line(tuple("-" * w for w in widths))] + [line(c) for c in cells])
