"""The NAS-Bench-201 ops and edges: what the integers of an `Nb201Arch` mean.

Op ids follow the benchmark's own op list order (``none``, ``skip_connect``, ``nor_conv_1x1``,
``nor_conv_3x3``, ``avg_pool_3x3``). Edges are numbered in the order of the benchmark's string,
node by node: ``(1<-0), (2<-0), (2<-1), (3<-0), (3<-1), (3<-2)``.
"""

from __future__ import annotations

from typing import Tuple

from enas_tf2.search_space.tokens import OpNames

NONE = 0
SKIP_CONNECT = 1
NOR_CONV_1X1 = 2
NOR_CONV_3X3 = 3
AVG_POOL_3X3 = 4

OP_NAMES = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
NUM_OPS = len(OP_NAMES)
CONV_OPS = (NOR_CONV_1X1, NOR_CONV_3X3)
KERNEL_SIZE = {NOR_CONV_1X1: 1, NOR_CONV_3X3: 3}

NUM_NODES = 4   # node 0 = cell input, node 3 = cell output
# (target node, source node) of each edge, in the benchmark string's order.
EDGES: Tuple[Tuple[int, int], ...] = tuple((j, i) for j in range(1, NUM_NODES) for i in range(j))
NUM_EDGES = len(EDGES)   # 6
NUM_ARCHS = NUM_OPS ** NUM_EDGES   # 15,625


def edge_index(target: int, source: int) -> int:
    """The position of edge ``source -> target`` in `EDGES`."""
    return EDGES.index((target, source))


_OP_NAMES = OpNames("nb201", OP_NAMES)
op_name = _OP_NAMES.name   # op id -> name (3 -> "nor_conv_3x3"); EnasError for an unknown id
op_id = _OP_NAMES.id       # name -> op id; EnasError naming the valid names
