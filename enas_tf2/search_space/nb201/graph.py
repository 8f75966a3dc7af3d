"""The NAS-Bench-201 cell's picture: the four nodes and the op on each of the six edges."""

from __future__ import annotations

from enas_tf2.render.arch_graph import ArchGraph
from enas_tf2.search_space.nb201 import ops
from enas_tf2.search_space.nb201.arch import Nb201Arch


def nb201_graph(arch: Nb201Arch) -> ArchGraph:
    """Node 0 (input) to node 3 (output); each edge that is not ``none`` is an op box."""
    graph = ArchGraph(title="nb201 cell", direction="TB")
    graph.add_node("n0", "node 0 (cell input)", "input")
    for j in range(1, ops.NUM_NODES):
        graph.add_node(f"n{j}", f"node {j}: sum" + (" (cell output)" if j == 3 else ""),
                       "output" if j == 3 else "combine")
        for i in range(j):
            op = arch.op_of(j, i)
            if op == ops.NONE:
                continue
            box = f"e{i}{j}"
            kind = {ops.SKIP_CONNECT: "identity", ops.AVG_POOL_3X3: "pool"}.get(op, "conv")
            graph.add_node(box, ops.OP_NAMES[op], kind)
            graph.add_edge(f"n{i}", box)
            graph.add_edge(box, f"n{j}")
    return graph
