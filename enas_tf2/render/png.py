"""PNG (and the uint8 image TensorBoard takes) of an `ArchGraph`, drawn with Pillow.

Pillow is already a dependency of TensorBoard, so pictures need nothing beyond ``pip install``. The
drawing follows the same `Layout` as the SVG, rendered at `scale` times its pixel size for crisp
text; Pillow's built-in scalable font is used (its bitmap font when FreeType is missing).
"""

from __future__ import annotations

import io
import math
from typing import Optional

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from enas_tf2.render.arch_graph import ArchGraph
from enas_tf2.render.layout import FONT_SIZE, LINE_HEIGHT, Layout, kind_style, layout
from enas_tf2.render.svg import arrow_head


def _font(size: float):
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ImportError, OSError):  # old Pillow or no FreeType: fixed bitmap font
        return ImageFont.load_default()


def _scaled(points, s):
    return [(x * s, y * s) for x, y in points]


def _dashes(points, on: float, off: float):
    """Pieces of a polyline that are drawn for a dash pattern of `on`/`off` pixels (the same
    pattern as the SVG's ``stroke-dasharray``), measured along the line."""
    pieces, current, drawing, left = [], [points[0]], True, on
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        length = math.hypot(x1 - x0, y1 - y0)
        pos = 0.0
        while length - pos > left:
            pos += left
            t = pos / length
            cut = (x0 + (x1 - x0) * t, y0 + (y1 - y0) * t)
            if drawing:
                pieces.append(current + [cut])
            current, drawing = [cut], not drawing
            left = on if drawing else off
        left -= length - pos
        current.append((x1, y1))
    if drawing and len(current) > 1:
        pieces.append(current)
    return pieces


def layout_to_image(lay: Layout, scale: float = 2.0) -> Image.Image:
    """An RGB Pillow image of an already computed layout."""
    s = scale
    img = Image.new("RGB", (int(lay.width * s), int(lay.height * s)), "white")
    draw = ImageDraw.Draw(img)
    font, bold = _font(FONT_SIZE * s), _font((FONT_SIZE + 3) * s)
    if lay.title:
        draw.text((lay.width * s / 2, 24 * s), lay.title, fill="black", font=bold, anchor="ms")
    for f in lay.frames:
        draw.rounded_rectangle([f.x * s, f.y * s, (f.x + f.w) * s, (f.y + f.h) * s],
                               radius=8 * s, fill="#f7f9fc", outline="#9e9e9e", width=max(1, int(s)))
        draw.text(((f.x + 10) * s, (f.y + 16) * s), f.title, fill="black", font=font, anchor="ls")
    for p in lay.paths:
        pts = _scaled(p.points, s)
        width = max(1, int(1.3 * s))
        if p.style == "dashed":
            for piece in _dashes(pts, 5 * s, 3 * s):
                draw.line(piece, fill="#546e7a", width=width)
        else:
            draw.line(pts, fill="#546e7a", width=width, joint="curve")
        draw.polygon(_scaled(arrow_head(p.points), s), fill="#546e7a")
    for b in lay.boxes.values():
        fill, pill = kind_style(b.kind)
        radius = (b.h / 2 if pill else 4) * s
        box = [(b.x - b.w / 2) * s, (b.y - b.h / 2) * s, (b.x + b.w / 2) * s, (b.y + b.h / 2) * s]
        draw.rounded_rectangle(box, radius=radius, fill=fill, outline="#37474f",
                               width=max(1, int(s)))
        lines = b.label.split("\n")
        for i, line in enumerate(lines):
            y = b.y + (i - (len(lines) - 1) / 2) * LINE_HEIGHT
            draw.text((b.x * s, y * s), line, fill="black", font=font, anchor="mm")
    return img


def to_image(graph: ArchGraph, scale: float = 2.0, max_side: Optional[int] = None) -> Image.Image:
    """An RGB Pillow image of `graph`; shrunk to fit `max_side` pixels when given."""
    img = layout_to_image(layout(graph), scale)
    if max_side and max(img.size) > max_side:
        ratio = max_side / max(img.size)
        img = img.resize((max(1, int(img.width * ratio)), max(1, int(img.height * ratio))),
                         Image.LANCZOS)
    return img


def to_png(graph: ArchGraph, scale: float = 2.0) -> bytes:
    """The PNG file bytes of `graph`."""
    buf = io.BytesIO()
    to_image(graph, scale).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def to_array(graph: ArchGraph, max_side: int = 1600) -> np.ndarray:
    """``uint8 [H, W, 3]`` pixels of `graph` (what ``tf.summary.image`` wants, after adding a
    batch axis), at most `max_side` pixels on the longer side."""
    return np.asarray(to_image(graph, scale=2.0, max_side=max_side), dtype=np.uint8)
