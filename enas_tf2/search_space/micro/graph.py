"""The micro space's picture: its two cells as an `ArchGraph`, drawn like the paper's cell figures.

Per cell (a cluster): the two inputs ``n0 = c[k-2]`` and ``n1 = c[k-1]``; for each searched node
one box per op, both feeding an ``add`` pill named after the node; and the output ``concat`` fed by
the loose ends (the nodes no other node reads, inputs included), which is what the cell emits.
"""

from __future__ import annotations

from enas_tf2.render.arch_graph import ArchGraph
from enas_tf2.search_space.micro import ops
from enas_tf2.search_space.micro.arch import CELL_NAMES, NUM_INPUT_NODES, MicroArch

_CELL_TITLES = {"normal": "normal cell", "reduce": "reduction cell"}
_INPUT_LABELS = ("n0: c[k-2]", "n1: c[k-1]")
_OP_KINDS = {ops.SEP_CONV_3X3: "conv", ops.SEP_CONV_5X5: "conv", ops.AVG_POOL_3X3: "pool",
             ops.MAX_POOL_3X3: "pool", ops.IDENTITY: "identity"}


def node_id(cell: str, name: str) -> str:
    """The graph id of a cell's node, e.g. ``("normal", "n3") -> "normal/n3"``."""
    return f"{cell}/{name}"


def micro_graph(arch: MicroArch) -> ArchGraph:
    """The normal and reduction cells of `arch`, side by side (inputs on the left)."""
    graph = ArchGraph(title=f"micro architecture ({arch.num_cells} nodes per cell)",
                      direction="LR")
    for cell in CELL_NAMES:
        graph.add_cluster(cell, _CELL_TITLES[cell])
        for i, label in enumerate(_INPUT_LABELS):
            graph.add_node(node_id(cell, f"n{i}"), label, "input", cell)
        for n, node in enumerate(arch.cell(cell), start=NUM_INPUT_NODES):
            add = node_id(cell, f"n{n}")
            for slot, (index, op) in enumerate(((node.index_1, node.op_1),
                                                (node.index_2, node.op_2)), start=1):
                box = node_id(cell, f"n{n}_op{slot}")
                graph.add_node(box, ops.OP_NAMES[op], _OP_KINDS[op], cell)
                graph.add_edge(node_id(cell, f"n{index}"), box)
            graph.add_node(add, f"n{n}: add", "combine", cell)
            graph.add_edge(node_id(cell, f"n{n}_op1"), add)
            graph.add_edge(node_id(cell, f"n{n}_op2"), add)
        out = node_id(cell, "out")
        graph.add_node(out, "c[k]: concat", "output", cell)
        for n in arch.loose_ends(cell):
            graph.add_edge(node_id(cell, f"n{n}"), out)
    return graph
