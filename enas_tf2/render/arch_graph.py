"""`ArchGraph`: a small, space-neutral picture description of one architecture.

Each search space turns its own architecture into an `ArchGraph` (``search_space/<space>/graph.py``);
the renderers (`dot.py`, `svg.py`, `png.py`) and the report only ever see this type, so a new space
gets pictures by writing one graph builder and nothing else.

Node kinds choose the colour and shape of a box, like the paper's figures: ``input`` (cell or net
inputs), ``output``, ``combine`` (add / concat / mean), ``conv``, ``pool``, ``identity``,
``activation`` and ``other``. Edges are ``layered`` (routed between ranks, the default) or ``arc``
(drawn as a curve beside the main flow, for the macro net's skip connections).
"""

from __future__ import annotations

from typing import Dict, List, NamedTuple, Optional, Tuple

from enas_tf2.errors import EnasError

NODE_KINDS = ("input", "output", "combine", "conv", "pool", "identity", "activation", "other")
EDGE_STYLES = ("solid", "dashed")
EDGE_ROUTES = ("layered", "arc")
DIRECTIONS = ("TB", "LR")


class _Node(NamedTuple):
    id: str
    label: str
    kind: str
    cluster: Optional[str]


class _Edge(NamedTuple):
    src: str
    dst: str
    style: str
    route: str


class _Cluster(NamedTuple):
    id: str
    title: str


class ArchGraph:
    """A directed acyclic picture graph: labelled nodes, edges and optional titled clusters.

    Args:
      title: a caption for the whole picture (e.g. ``"micro architecture"``).
      direction: ``"TB"`` (inputs on top) or ``"LR"`` (inputs on the left); clusters are laid
        side by side across that direction (stacked for ``LR``).

    Nodes, edges and clusters keep their insertion order, which the layout uses as the starting
    order of each rank, so a builder that adds nodes in reading order gets a tidy picture.
    """

    Node = _Node
    Edge = _Edge
    Cluster = _Cluster

    def __init__(self, title: str = "", direction: str = "TB"):
        if direction not in DIRECTIONS:
            raise EnasError(f"graph direction must be one of {DIRECTIONS}, got {direction!r}")
        self.title = title
        self.direction = direction
        self._nodes: Dict[str, _Node] = {}
        self._edges: List[_Edge] = []
        self._clusters: Dict[str, _Cluster] = {}

    # ---- building ----------------------------------------------------------------------------
    def add_cluster(self, cluster_id: str, title: str) -> None:
        """Declares a titled group of nodes (e.g. ``"normal cell"``)."""
        if cluster_id in self._clusters:
            raise EnasError(f"cluster {cluster_id!r} is already in the graph")
        self._clusters[cluster_id] = _Cluster(cluster_id, title)

    def add_node(self, node_id: str, label: str, kind: str = "other",
                 cluster: Optional[str] = None) -> None:
        """Adds a node; `label` may hold ``\\n`` for several lines."""
        if node_id in self._nodes:
            raise EnasError(f"node {node_id!r} is already in the graph")
        if kind not in NODE_KINDS:
            raise EnasError(f"node kind must be one of {', '.join(NODE_KINDS)}, got {kind!r}")
        if cluster is not None and cluster not in self._clusters:
            raise EnasError(f"node {node_id!r} names unknown cluster {cluster!r}")
        self._nodes[node_id] = _Node(node_id, label, kind, cluster)

    def add_edge(self, src: str, dst: str, style: str = "solid", route: str = "layered") -> None:
        """Adds an edge between two existing nodes of the same cluster (data flows src → dst)."""
        for end in (src, dst):
            if end not in self._nodes:
                raise EnasError(f"edge {src!r} -> {dst!r} names unknown node {end!r}")
        if self._nodes[src].cluster != self._nodes[dst].cluster:
            raise EnasError(f"edge {src!r} -> {dst!r} crosses clusters; keep edges inside one")
        if style not in EDGE_STYLES or route not in EDGE_ROUTES:
            raise EnasError(f"edge style must be one of {EDGE_STYLES} and route one of "
                            f"{EDGE_ROUTES}, got {style!r}, {route!r}")
        self._edges.append(_Edge(src, dst, style, route))

    # ---- reading -----------------------------------------------------------------------------
    @property
    def nodes(self) -> Tuple[_Node, ...]:
        """Every node, in insertion order."""
        return tuple(self._nodes.values())

    @property
    def edges(self) -> Tuple[_Edge, ...]:
        """Every edge, in insertion order."""
        return tuple(self._edges)

    @property
    def clusters(self) -> Tuple[_Cluster, ...]:
        """Every cluster, in insertion order."""
        return tuple(self._clusters.values())

    def node(self, node_id: str) -> _Node:
        """The node called `node_id`."""
        return self._nodes[node_id]

    def groups(self) -> List[Tuple[Optional[_Cluster], List[_Node]]]:
        """Nodes grouped for layout: the clusters in order, then the unclustered nodes (if any)."""
        out = [(c, [n for n in self._nodes.values() if n.cluster == c.id])
               for c in self._clusters.values()]
        loose = [n for n in self._nodes.values() if n.cluster is None]
        if loose:
            out.append((None, loose))
        return [(c, nodes) for c, nodes in out if nodes]
