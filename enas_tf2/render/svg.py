"""SVG of an `ArchGraph`: the pure-Python `Layout` written as standalone SVG text.

The SVG needs no external resources (fonts fall back to the reader's monospace), so it can be
inlined in ``report.html`` or opened directly in a browser.
"""

from __future__ import annotations

import math
from typing import List
from xml.sax.saxutils import escape

from enas_tf2.render.arch_graph import ArchGraph
from enas_tf2.render.layout import FONT_SIZE, LINE_HEIGHT, Layout, kind_style, layout

_FONT = "DejaVu Sans Mono, Menlo, Consolas, monospace"
ARROW_LENGTH, ARROW_HALF_WIDTH = 8.0, 3.5


def arrow_head(points) -> List[tuple]:
    """The triangle (tip, two back corners) at the end of a path of points."""
    (x0, y0), (x1, y1) = points[-2], points[-1]
    length = math.hypot(x1 - x0, y1 - y0) or 1.0
    ux, uy = (x1 - x0) / length, (y1 - y0) / length
    bx, by = x1 - ux * ARROW_LENGTH, y1 - uy * ARROW_LENGTH
    return [(x1, y1), (bx - uy * ARROW_HALF_WIDTH, by + ux * ARROW_HALF_WIDTH),
            (bx + uy * ARROW_HALF_WIDTH, by - ux * ARROW_HALF_WIDTH)]


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def layout_to_svg(lay: Layout, element_id: str = "") -> str:
    """The SVG text of an already computed layout; `element_id` sets the root's ``id``."""
    ident = f' id="{escape(element_id)}"' if element_id else ""
    out = [f'<svg xmlns="http://www.w3.org/2000/svg"{ident} width="{_fmt(lay.width)}" '
           f'height="{_fmt(lay.height)}" viewBox="0 0 {_fmt(lay.width)} {_fmt(lay.height)}" '
           f'font-family="{_FONT}" font-size="{FONT_SIZE}">',
           '<rect width="100%" height="100%" fill="white"/>']
    if lay.title:
        out.append(f'<text class="title" x="{_fmt(lay.width / 2)}" y="24" text-anchor="middle" '
                   f'font-size="{FONT_SIZE + 3}" font-weight="bold">{escape(lay.title)}</text>')
    for f in lay.frames:
        out.append(f'<g class="cluster"><rect x="{_fmt(f.x)}" y="{_fmt(f.y)}" width="{_fmt(f.w)}" '
                   f'height="{_fmt(f.h)}" rx="8" fill="#f7f9fc" stroke="#9e9e9e"/>'
                   f'<text x="{_fmt(f.x + 10)}" y="{_fmt(f.y + 16)}" font-weight="bold">'
                   f'{escape(f.title)}</text></g>')
    for p in lay.paths:
        d = "M " + " L ".join(f"{_fmt(x)} {_fmt(y)}" for x, y in p.points[:-1])
        # The line stops at the arrow's base so its end does not poke through the tip.
        head = arrow_head(p.points)
        base = ((head[1][0] + head[2][0]) / 2, (head[1][1] + head[2][1]) / 2)
        d += f" L {_fmt(base[0])} {_fmt(base[1])}"
        dash = ' stroke-dasharray="5 3"' if p.style == "dashed" else ""
        tri = " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in head)
        out.append(f'<g class="edge" data-src="{escape(p.src)}" data-dst="{escape(p.dst)}">'
                   f'<path d="{d}" fill="none" stroke="#546e7a" '
                   f'stroke-width="1.3"{dash}/><polygon points="{tri}" fill="#546e7a"/></g>')
    for b in lay.boxes.values():
        fill, pill = kind_style(b.kind)
        radius = b.h / 2 if pill else 4
        lines = b.label.split("\n")
        first = b.y - (len(lines) - 1) * LINE_HEIGHT / 2 + FONT_SIZE * 0.35
        text = "".join(f'<tspan x="{_fmt(b.x)}" y="{_fmt(first + i * LINE_HEIGHT)}">'
                       f'{escape(line)}</tspan>' for i, line in enumerate(lines))
        out.append(f'<g class="node {escape(b.kind)}" data-id="{escape(b.id)}">'
                   f'<rect x="{_fmt(b.x - b.w / 2)}" y="{_fmt(b.y - b.h / 2)}" width="{_fmt(b.w)}" '
                   f'height="{_fmt(b.h)}" rx="{_fmt(radius)}" fill="{fill}" stroke="#37474f"/>'
                   f'<text text-anchor="middle">{text}</text></g>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def to_svg(graph: ArchGraph, element_id: str = "") -> str:
    """Lays out `graph` and returns standalone SVG text."""
    return layout_to_svg(layout(graph), element_id)
