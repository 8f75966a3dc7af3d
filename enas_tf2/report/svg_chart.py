"""Small inline-SVG charts for ``report.html``: lines/points over epochs, stacked bars, strips.

Pure Python (no plotting library, no network): each function returns one ``<svg>`` element whose
size is fixed, so the report reads the same offline, in any browser, and in tests that parse it.
Missing values (None) leave gaps in a line instead of being drawn as zeros.
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence, Tuple
from xml.sax.saxutils import escape

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")
WIDTH, HEIGHT = 480, 270
LEFT, RIGHT, TOP, BOTTOM = 58, 14, 30, 44
LEGEND_ROW = 16

Series = Tuple[str, Sequence[float], Sequence[Optional[float]]]


def nice_ticks(lo: float, hi: float, count: int = 5) -> List[float]:
    """About `count` round tick values covering ``[lo, hi]`` (steps of 1, 2 or 5 x 10^k)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0]
    if hi <= lo:
        lo, hi = lo - (abs(lo) * 0.1 or 0.5), hi + (abs(hi) * 0.1 or 0.5)
    raw = (hi - lo) / max(1, count)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.floor(lo / step) * step
    ticks = [round(first, 12)]
    while ticks[-1] < hi - step * 1e-9:   # the last tick covers hi
        ticks.append(round(first + len(ticks) * step, 12))
    return ticks


def _label(value: float) -> str:
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
        return f"{value:.1e}"
    return f"{value:.4g}"


def tick_labels(ticks: Sequence[float]) -> List[str]:
    """Labels with just enough decimals to tell neighbouring ticks apart (19.5152, 19.5154)."""
    if len(ticks) < 2:
        return [_label(t) for t in ticks]
    step = abs(ticks[1] - ticks[0])
    big = max(abs(t) for t in ticks)
    if big >= 1e5 or big < 1e-3:
        return [f"{t:.2e}" if t else "0" for t in ticks]
    decimals = max(0, math.ceil(-math.log10(step) - 1e-9)) if step > 0 else 2
    return [f"{t:.{decimals}f}" for t in ticks]


class _Frame:
    """Maps data to pixels inside the plot area and draws axes, grid and legend."""

    def __init__(self, xs: Sequence[float], ys: Sequence[float], legend_rows: int):
        self.bottom = HEIGHT - BOTTOM - legend_rows * LEGEND_ROW
        xt = nice_ticks(min(xs), max(xs)) if xs else [0.0, 1.0]
        yt = nice_ticks(min(ys), max(ys)) if ys else [0.0, 1.0]
        self.x0, self.x1 = min(xt[0], min(xs, default=0)), max(xt[-1], max(xs, default=1))
        self.y0, self.y1 = yt[0], yt[-1]
        if self.x1 == self.x0:
            self.x0, self.x1 = self.x0 - 1, self.x1 + 1
        if self.y1 == self.y0:
            self.y0, self.y1 = self.y0 - 1, self.y1 + 1
        self.xticks = [t for t in xt if self.x0 <= t <= self.x1]
        self.yticks = yt

    def px(self, x: float) -> float:
        return LEFT + (x - self.x0) / (self.x1 - self.x0) * (WIDTH - LEFT - RIGHT)

    def py(self, y: float) -> float:
        return self.bottom - (y - self.y0) / (self.y1 - self.y0) * (self.bottom - TOP)

    def axes(self, x_label: str, y_label: str, integer_x: bool,
             x_ticks: bool = True) -> List[str]:
        out = []
        for t, text in zip(self.yticks, tick_labels(self.yticks)):
            y = self.py(t)
            out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                       f'stroke="#e5e5e5"/><text x="{LEFT - 5}" y="{y + 4:.1f}" '
                       f'text-anchor="end">{text}</text>')
        xticks = [t for t in self.xticks if not integer_x or t == int(t)] if x_ticks else []
        for t, text in zip(xticks, tick_labels(xticks)):
            x = self.px(t)
            out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{self.bottom}" '
                       f'y2="{self.bottom + 4}" stroke="#555"/><text x="{x:.1f}" '
                       f'y="{self.bottom + 16}" text-anchor="middle">{text}</text>')
        out.append(f'<rect x="{LEFT}" y="{TOP}" width="{WIDTH - LEFT - RIGHT}" '
                   f'height="{self.bottom - TOP}" fill="none" stroke="#555"/>')
        out.append(f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{self.bottom + 32}" '
                   f'text-anchor="middle">{escape(x_label)}</text>')
        if y_label:
            out.append(f'<text transform="translate(14 {(TOP + self.bottom) / 2}) rotate(-90)" '
                       f'text-anchor="middle">{escape(y_label)}</text>')
        return out


def _legend(names: Sequence[str], top: float) -> List[str]:
    out, x, y = [], LEFT, top
    for i, name in enumerate(names):
        width = 22 + 7 * len(name) + 14
        if x + width > WIDTH - RIGHT and x > LEFT:
            x, y = LEFT, y + LEGEND_ROW
        color = PALETTE[i % len(PALETTE)]
        out.append(f'<rect x="{x}" y="{y - 9}" width="12" height="10" fill="{color}"/>'
                   f'<text x="{x + 16}" y="{y}">{escape(name)}</text>')
        x += width
    return out


def _legend_rows(names: Sequence[str]) -> int:
    rows, x = 1, LEFT
    for name in names:
        width = 22 + 7 * len(name) + 14
        if x + width > WIDTH - RIGHT and x > LEFT:
            rows, x = rows + 1, LEFT
        x += width
    return rows if len(names) > 1 else 0


def _svg(element_id: str, title: str, body: List[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" id="{escape(element_id)}" class="chart" '
            f'width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
            f'font-family="sans-serif" font-size="11"><rect width="100%" height="100%" '
            f'fill="white"/><text x="{WIDTH / 2}" y="18" text-anchor="middle" font-size="13" '
            f'font-weight="bold">{escape(title)}</text>' + "".join(body) + "</svg>")


def line_chart(element_id: str, title: str, series: Sequence[Series], x_label: str = "epoch",
               y_label: str = "", lines: bool = True) -> str:
    """Lines (or just points when `lines` is False) of ``(name, xs, ys)`` series."""
    xs = [float(x) for _, sx, sy in series for x, y in zip(sx, sy) if y is not None]
    ys = [float(y) for _, sx, sy in series for y in sy if y is not None]
    names = [name for name, _, _ in series]
    rows = _legend_rows(names)
    frame = _Frame(xs, ys, rows)
    body = frame.axes(x_label, y_label, integer_x=all(float(x).is_integer() for x in xs))
    for i, (_, sx, sy) in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        points = [(frame.px(float(x)), frame.py(float(y))) if y is not None else None
                  for x, y in zip(sx, sy)]
        if lines:
            run: List[Tuple[float, float]] = []
            for p in points + [None]:
                if p is not None:
                    run.append(p)
                    continue
                if len(run) > 1:
                    body.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.8" '
                                f'points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in run)}"/>')
                run = []
        radius = 2.6 if lines else 2.2
        opacity = "" if lines else ' fill-opacity="0.55"'
        body.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius}" fill="{color}"{opacity}/>'
                    for p in points if p is not None for x, y in [p])
    body.extend(_legend(names, frame.bottom + 52) if rows else [])
    return _svg(element_id, title, body)


def stacked_bars(element_id: str, title: str, xs: Sequence[float],
                 stacks: Dict[str, Sequence[float]], x_label: str = "epoch",
                 y_label: str = "share") -> str:
    """One bar per x, split into the shares of each stack (each bar is normalised to 1)."""
    names = list(stacks)
    rows = _legend_rows(names)
    frame = _Frame([float(x) for x in xs] or [0.0], [0.0, 1.0], rows)
    span = frame.px(frame.x0 + 1) - frame.px(frame.x0) if xs else 10
    bar = max(2.0, min(28.0, span * 0.8, (WIDTH - LEFT - RIGHT) / max(1, len(xs)) * 0.8))
    frame.x0 -= 0.5 * (frame.x1 - frame.x0) / max(1, len(xs))
    frame.x1 += 0.5 * (frame.x1 - frame.x0) / max(1, len(xs) + 1)
    body = frame.axes(x_label, y_label, integer_x=True)
    for j, x in enumerate(xs):
        total = sum(stacks[n][j] for n in names) or 1.0
        acc = 0.0
        for i, name in enumerate(names):
            share = stacks[name][j] / total
            top, bottom = frame.py(acc + share), frame.py(acc)
            body.append(f'<rect x="{frame.px(float(x)) - bar / 2:.1f}" y="{top:.1f}" '
                        f'width="{bar:.1f}" height="{max(0.0, bottom - top):.1f}" '
                        f'fill="{PALETTE[i % len(PALETTE)]}"><title>{escape(name)} '
                        f'{share:.0%}</title></rect>')
            acc += share
    body.extend(_legend(names, frame.bottom + 52) if rows else [])
    return _svg(element_id, title, body)


def strip_chart(element_id: str, title: str, groups: Dict[str, Sequence[float]],
                y_label: str = "reward") -> str:
    """Each group's values as a column of points with its mean as a bar (e.g. controller vs
    random rewards)."""
    names = list(groups)
    ys = [float(v) for vals in groups.values() for v in vals]
    frame = _Frame([0.0, float(len(names) + 1)], ys, 0)
    body = frame.axes("", y_label, integer_x=True, x_ticks=False)
    for i, name in enumerate(names):
        cx = frame.px(i + 1.0)
        color = PALETTE[i % len(PALETTE)]
        values = [float(v) for v in groups[name]]
        for k, v in enumerate(values):
            jitter = ((k * 37) % 21 - 10) * 1.6  # deterministic spread so points do not stack
            body.append(f'<circle cx="{cx + jitter:.1f}" cy="{frame.py(v):.1f}" r="3" '
                        f'fill="{color}" fill-opacity="0.6"/>')
        if values:
            mean = sum(values) / len(values)
            body.append(f'<line x1="{cx - 24:.1f}" x2="{cx + 24:.1f}" y1="{frame.py(mean):.1f}" '
                        f'y2="{frame.py(mean):.1f}" stroke="black" stroke-width="2"/>'
                        f'<text x="{cx + 28:.1f}" y="{frame.py(mean) + 4:.1f}">mean '
                        f'{_label(mean)}</text>')
        body.append(f'<text x="{cx:.1f}" y="{frame.bottom + 18}" text-anchor="middle">'
                    f'{escape(name)} (n={len(values)})</text>')
    return _svg(element_id, title, body)
