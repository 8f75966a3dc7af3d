"""`Layout`: positions for every box, edge and cluster frame of an `ArchGraph`, in pure Python.

A small layered ("Sugiyama") layout, enough for cells of a dozen nodes and a 24-layer chain:

1. ranks: longest path from the sources, then every non-source node is pulled down next to its
   first consumer (so an op box sits right above the add it feeds, as in the paper's figures);
2. layered edges that span several ranks get invisible waypoints, one per rank crossed;
3. order within each rank: alternating barycentre sweeps, keeping the order with fewest crossings;
4. positions across ranks: each node moves towards the mean of its neighbours, then a left and a
   right packing pass keep the order and the gaps (their average keeps both, being linear);
5. edges become sampled cubic curves (tangent along the rank axis); ``arc`` edges bulge beside the
   flow, further for longer spans, so skip connections read as nested arcs.

Clusters are laid out on their own and then placed side by side across the flow. SVG and PNG draw
the same `Layout`, so both pictures agree. Text width is estimated (monospace, 0.62 em per
character), which the SVG font honours and the PNG font stays within.
"""

from __future__ import annotations

from typing import Dict, List, NamedTuple, Tuple

from enas_tf2.errors import EnasError
from enas_tf2.render.arch_graph import ArchGraph

FONT_SIZE = 12
CHAR_WIDTH = 0.62 * FONT_SIZE
LINE_HEIGHT = 15
PAD_X, PAD_Y = 9, 6
NODE_GAP = 14          # between neighbours of one rank
RANK_GAP = {"TB": 34, "LR": 46}
DUMMY_SIZE = 8         # a waypoint's footprint across the flow
CLUSTER_PAD, CLUSTER_TITLE, CLUSTER_GAP = 14, 22, 26
MARGIN, TITLE_HEIGHT = 12, 26
SWEEPS = 16
CURVE_SAMPLES = 16

Point = Tuple[float, float]


class _Box(NamedTuple):
    id: str
    label: str
    kind: str
    x: float          # centre
    y: float
    w: float
    h: float


class _Path(NamedTuple):
    src: str
    dst: str
    points: Tuple[Point, ...]
    style: str


class _Frame(NamedTuple):
    title: str
    x: float          # top-left corner
    y: float
    w: float
    h: float


def text_size(label: str) -> Tuple[float, float]:
    """Width and height of a node box holding `label` (lines split on ``\\n``)."""
    lines = label.split("\n")
    return (max(len(line) for line in lines) * CHAR_WIDTH + 2 * PAD_X,
            len(lines) * LINE_HEIGHT + 2 * PAD_Y)


def _topological(ids: List[str], succ: Dict[str, List[str]]) -> List[str]:
    indeg = {v: 0 for v in ids}
    for u in ids:
        for v in succ[u]:
            indeg[v] += 1
    ready = [v for v in ids if indeg[v] == 0]
    out = []
    while ready:
        u = ready.pop(0)
        out.append(u)
        for v in succ[u]:
            indeg[v] -= 1
            if indeg[v] == 0:
                ready.append(v)
    if len(out) != len(ids):
        raise EnasError("the architecture graph has a cycle; a space's graph builder must "
                        "produce a DAG")
    return out


def _cubic(p0: Point, c0: Point, c1: Point, p1: Point) -> List[Point]:
    pts = []
    for i in range(1, CURVE_SAMPLES + 1):
        t = i / CURVE_SAMPLES
        a, b, c, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t ** 2, t ** 3
        pts.append((a * p0[0] + b * c0[0] + c * c1[0] + d * p1[0],
                    a * p0[1] + b * c0[1] + c * c1[1] + d * p1[1]))
    return pts


class _GroupLayout:
    """Ranks, order and coordinates of one cluster (or of the unclustered nodes)."""

    def __init__(self, nodes, edges, direction: str):
        self.tb = direction == "TB"
        self.nodes = {n.id: n for n in nodes}
        ids = [n.id for n in nodes]
        self.size = {n.id: text_size(n.label) for n in nodes}
        succ = {v: [] for v in ids}
        pred = {v: [] for v in ids}
        for e in edges:
            succ[e.src].append(e.dst)
            pred[e.dst].append(e.src)
        order = _topological(ids, succ)
        rank = {v: 0 for v in ids}
        for u in order:
            for v in succ[u]:
                rank[v] = max(rank[v], rank[u] + 1)
        for u in reversed(order):
            if pred[u] and succ[u]:
                rank[u] = min(rank[v] for v in succ[u]) - 1
        self.rank = rank
        self.edges = edges
        self._build_chains(ids)
        self._order()
        self._coordinates()

    # across = the axis along a rank (x for TB); along = the flow axis (y for TB)
    def _across(self, v: str) -> float:
        if v not in self.size:
            return DUMMY_SIZE
        w, h = self.size[v]
        return w if self.tb else h

    def _along(self, v: str) -> float:
        if v not in self.size:
            return 0.0
        w, h = self.size[v]
        return h if self.tb else w

    def _build_chains(self, ids: List[str]) -> None:
        """Replaces long layered edges by chains through one waypoint per crossed rank."""
        self.chains = []           # (edge, [node, waypoint..., node])
        self.links = []            # adjacent-rank pairs used for ordering
        num_ranks = max(self.rank.values()) + 1
        self.ranks: List[List[str]] = [[] for _ in range(num_ranks)]
        for v in ids:
            self.ranks[self.rank[v]].append(v)
        for k, e in enumerate(self.edges):
            if e.route == "arc":
                self.chains.append((e, [e.src, e.dst]))
                continue
            chain = [e.src]
            for r in range(self.rank[e.src] + 1, self.rank[e.dst]):
                dummy = f"\0{k}:{r}"
                self.rank[dummy] = r
                self.ranks[r].append(dummy)
                chain.append(dummy)
            chain.append(e.dst)
            self.links.extend(zip(chain[:-1], chain[1:]))
            self.chains.append((e, chain))

    def _crossings(self) -> int:
        pos = {v: i for layer in self.ranks for i, v in enumerate(layer)}
        by_rank: Dict[int, List[Tuple[int, int]]] = {}
        for u, v in self.links:
            by_rank.setdefault(self.rank[u], []).append((pos[u], pos[v]))
        total = 0
        for pairs in by_rank.values():
            for i, (a1, b1) in enumerate(pairs):
                for a2, b2 in pairs[i + 1:]:
                    total += (a1 - a2) * (b1 - b2) < 0
        return total

    def _order(self) -> None:
        up = {v: [] for layer in self.ranks for v in layer}
        down = {v: [] for layer in self.ranks for v in layer}
        for u, v in self.links:
            down[u].append(v)
            up[v].append(u)
        best, best_cross = [list(layer) for layer in self.ranks], self._crossings()
        for sweep in range(SWEEPS):
            downward = sweep % 2 == 0
            rng = range(1, len(self.ranks)) if downward else range(len(self.ranks) - 2, -1, -1)
            for r in rng:
                ref = self.ranks[r - 1] if downward else self.ranks[r + 1]
                pos = {v: i for i, v in enumerate(ref)}
                layer = self.ranks[r]
                keys = {}
                for i, v in enumerate(layer):
                    nbrs = [pos[n] for n in (up[v] if downward else down[v]) if n in pos]
                    keys[v] = (sum(nbrs) / len(nbrs)) if nbrs else float(i)
                layer.sort(key=lambda v: keys[v])
            cross = self._crossings()
            if cross < best_cross:
                best, best_cross = [list(layer) for layer in self.ranks], cross
        self.ranks = best

    def _pack(self, layer: List[str], want: Dict[str, float]) -> Dict[str, float]:
        gap = [(self._across(a) + self._across(b)) / 2 + NODE_GAP for a, b in zip(layer, layer[1:])]
        left = [want[layer[0]]]
        for i, v in enumerate(layer[1:]):
            left.append(max(want[v], left[-1] + gap[i]))
        right = [want[layer[-1]]]
        for i in range(len(layer) - 2, -1, -1):
            right.insert(0, min(want[layer[i]], right[0] - gap[i]))
        return {v: (a + b) / 2 for v, a, b in zip(layer, left, right)}

    def _coordinates(self) -> None:
        nbrs = {v: [] for layer in self.ranks for v in layer}
        for u, v in self.links:
            nbrs[u].append(v)
            nbrs[v].append(u)
        across: Dict[str, float] = {}
        for layer in self.ranks:
            x = 0.0
            for v in layer:
                across[v] = x + self._across(v) / 2
                x += self._across(v) + NODE_GAP
            shift = x / 2
            for v in layer:
                across[v] -= shift
        for _ in range(8):
            for layer in self.ranks:
                if not layer:
                    continue
                want = {v: (sum(across[n] for n in nbrs[v]) / len(nbrs[v]) if nbrs[v]
                            else across[v]) for v in layer}
                across.update(self._pack(layer, want))
        along, pos = {}, 0.0
        gap = RANK_GAP["TB" if self.tb else "LR"]
        for layer in self.ranks:
            depth = max([self._along(v) for v in layer] + [0.0])
            for v in layer:
                along[v] = pos + depth / 2
            pos += depth + gap
        lo = min(across[v] - self._across(v) / 2 for v in across)
        self.across = {v: a - lo for v, a in across.items()}
        self.along = along
        self.extent_across = max(self.across[v] + self._across(v) / 2 for v in self.across)
        self.extent_along = pos - gap

    def xy(self, v: str) -> Point:
        return (self.across[v], self.along[v]) if self.tb else (self.along[v], self.across[v])

    def _port(self, v: str, out: bool) -> Point:
        x, y = self.xy(v)
        half = self._along(v) / 2 * (1 if out else -1)
        return (x, y + half) if self.tb else (x + half, y)

    def paths(self) -> Tuple[List[_Path], float]:
        """Sampled edge curves, and how far the arcs reach beyond the boxes across the flow."""
        out, reach = [], self.extent_across
        for e, chain in self.chains:
            if e.route == "arc":
                path, far = self._arc(e.src, e.dst)
                reach = max(reach, far)
                out.append(_Path(e.src, e.dst, tuple(path), e.style))
                continue
            pts = [self._port(chain[0], True)] + [self.xy(d) for d in chain[1:-1]] + \
                  [self._port(chain[-1], False)]
            curve = [pts[0]]
            for p0, p1 in zip(pts, pts[1:]):
                if self.tb:
                    mid = (p1[1] - p0[1]) / 2
                    curve += _cubic(p0, (p0[0], p0[1] + mid), (p1[0], p1[1] - mid), p1)
                else:
                    mid = (p1[0] - p0[0]) / 2
                    curve += _cubic(p0, (p0[0] + mid, p0[1]), (p1[0] - mid, p1[1]), p1)
            out.append(_Path(e.src, e.dst, tuple(curve), e.style))
        return out, reach

    def _arc(self, u: str, v: str) -> Tuple[List[Point], float]:
        span = abs(self.rank[v] - self.rank[u])
        bulge = 16 + 10 * span
        (ux, uy), (vx, vy) = self.xy(u), self.xy(v)
        if self.tb:
            p0, p1 = (ux + self._across(u) / 2, uy), (vx + self._across(v) / 2, vy)
            side = max(p0[0], p1[0]) + bulge
            pts = [p0] + _cubic(p0, (side, p0[1]), (side, p1[1]), p1)
            return pts, max(x for x, _ in pts)
        p0, p1 = (ux, uy + self._across(u) / 2), (vx, vy + self._across(v) / 2)
        side = max(p0[1], p1[1]) + bulge
        pts = [p0] + _cubic(p0, (p0[0], side), (p1[0], side), p1)
        return pts, max(y for _, y in pts)


class Layout:
    """Where everything of an `ArchGraph` goes, in pixels (origin top-left).

    Attributes:
      width, height: picture size.
      title: the graph's title, drawn at the top.
      boxes: node id → box (``x``, ``y`` centre, ``w``, ``h``, ``label``, ``kind``).
      paths: edge curves (``src``, ``dst``, ``points`` from source to target, ``style``), arrow
        at the last point.
      frames: cluster frames (``title``, top-left ``x``, ``y``, ``w``, ``h``).
    """

    def __init__(self, graph: ArchGraph):
        self.title = graph.title
        self.boxes: Dict[str, _Box] = {}
        self.paths: List[_Path] = []
        self.frames: List[_Frame] = []
        tb = graph.direction == "TB"
        top = MARGIN + (TITLE_HEIGHT if graph.title else 0)
        offset, right, bottom = (float(MARGIN) if tb else top), 0.0, 0.0
        for cluster, nodes in graph.groups():
            ids = {n.id for n in nodes}
            group = _GroupLayout(nodes, [e for e in graph.edges if e.src in ids],
                                 graph.direction)
            paths, reach = group.paths()
            pad = CLUSTER_PAD if cluster is not None else 0
            head = CLUSTER_TITLE if cluster is not None else 0
            if tb:
                dx, dy = offset + pad, top + head + pad
                w, h = reach + 2 * pad, group.extent_along + head + 2 * pad
            else:
                dx, dy = MARGIN + pad, offset + head + pad
                w, h = group.extent_along + 2 * pad, reach + head + 2 * pad
            for v in ids:
                x, y = group.xy(v)
                n = group.nodes[v]
                bw, bh = group.size[v]
                self.boxes[v] = _Box(v, n.label, n.kind, x + dx, y + dy, bw, bh)
            for p in paths:
                self.paths.append(p._replace(points=tuple((x + dx, y + dy) for x, y in p.points)))
            fx, fy = (offset, top) if tb else (MARGIN, offset)
            if cluster is not None:
                self.frames.append(_Frame(cluster.title, fx, fy, w, h))
            offset += (w if tb else h) + CLUSTER_GAP
            right, bottom = max(right, fx + w), max(bottom, fy + h)
        if not self.boxes:
            raise EnasError("the architecture graph has no nodes")
        title_w = len(graph.title) * CHAR_WIDTH * 1.2 + 2 * MARGIN
        self.width = float(int(max(right + MARGIN, title_w) + 1))
        self.height = float(int(bottom + MARGIN + 1))


def layout(graph: ArchGraph) -> Layout:
    """Lays out `graph` (see the module docstring)."""
    return Layout(graph)


def kind_style(kind: str) -> Tuple[str, bool]:
    """Fill colour and whether the box is rounded like a pill (combine nodes), per node kind."""
    return _KIND_STYLE.get(kind, _KIND_STYLE["other"])


# Colours close to the paper's figures: inputs green, outputs yellow, convolutions blue,
# pooling orange, identity white, combines grey pills.
_KIND_STYLE = {
    "input": ("#a5d6a7", False), "output": ("#fff59d", False), "combine": ("#e0e0e0", True),
    "conv": ("#90caf9", False), "pool": ("#ffcc80", False), "identity": ("#fafafa", False),
    "activation": ("#ce93d8", False), "other": ("#eeeeee", False),
}
