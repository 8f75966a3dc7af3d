"""The RNN space's picture: one recurrent cell, as in the paper's figure of the PTB cell.

Inputs ``x[t]`` and ``h[t-1]`` feed node 0; every searched node reads its ``prev`` node through a
highway step with its activation; the output ``h[t]`` is the mean of the cell's output nodes (all
searched nodes for ``enas_lm``, the loose ends for the original encoding).
"""

from __future__ import annotations

from enas_tf2.render.arch_graph import ArchGraph
from enas_tf2.search_space.rnn import functions
from enas_tf2.search_space.rnn.arch import RnnArch


def rnn_graph(arch: RnnArch) -> ArchGraph:
    """The cell of `arch` (inputs on top, output at the bottom)."""
    graph = ArchGraph(title=f"RNN cell ({arch.cell_variant}, {arch.num_nodes} searched nodes)",
                      direction="TB")
    graph.add_node("x", "x[t]", "input")
    graph.add_node("h_prev", "h[t-1]", "input")
    graph.add_node("n0", f"n0: {functions.NAMES[arch.node0_activation()]}", "activation")
    graph.add_edge("x", "n0")
    graph.add_edge("h_prev", "n0")
    for k, (node, act) in enumerate(zip(arch.nodes, arch.activations()), start=1):
        graph.add_node(f"n{k}", f"n{k}: {functions.NAMES[act]}", "activation")
        graph.add_edge(f"n{node.prev}", f"n{k}")
    graph.add_node("out", "h[t]: mean", "output")
    for n in arch.output_nodes():
        graph.add_edge(f"n{n}", "out")
    return graph
