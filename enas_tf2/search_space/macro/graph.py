"""The macro space's picture: the whole network as a chain with its skip connections as arcs.

Top to bottom: the image, the stem, one box per searched layer (its op), a ``halve`` box after
each pool layer (every earlier output is factorized-reduced there), and the head. Each skip bit
that is on is a dashed arc from its source (the stem or an earlier layer) into the layer that adds
it, drawn beside the chain, as in the paper's figure of the macro net.
"""

from __future__ import annotations

from enas_tf2.render.arch_graph import ArchGraph
from enas_tf2.search_space.macro import ops
from enas_tf2.search_space.macro.arch import MacroArch


def _source_id(j: int) -> str:
    """``prev[j]``: the stem for ``j == 0``, else the output of layer ``j - 1``."""
    return "stem" if j == 0 else f"layer{j - 1}"


def macro_graph(arch: MacroArch) -> ArchGraph:
    """The chain of `arch`'s layers with its skips (inputs on top)."""
    graph = ArchGraph(title=f"macro architecture ({arch.num_layers} layers, "
                            f"{arch.skip_count()} skips)", direction="TB")
    graph.add_node("image", "image", "input")
    graph.add_node("stem", "stem: conv_3x3", "conv")
    graph.add_edge("image", "stem")
    last = "stem"
    for i, layer in enumerate(arch.layers):
        node = f"layer{i}"
        kind = "pool" if layer.op in ops.POOL_OPS else "conv"
        graph.add_node(node, f"layer {i}: {ops.OP_NAMES[layer.op]}", kind)
        graph.add_edge(last, node)
        for j in arch.skip_inputs(i):
            graph.add_edge(_source_id(j), node, style="dashed", route="arc")
        last = node
        if i in arch.pool_layers:
            graph.add_node(f"halve{i}", "halve: factorized reduction", "other")
            graph.add_edge(node, f"halve{i}")
            last = f"halve{i}"
    graph.add_node("head", "head: avg pool, dense", "output")
    graph.add_edge(last, "head")
    return graph
