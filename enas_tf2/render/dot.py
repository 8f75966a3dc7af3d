"""Graphviz DOT text of an `ArchGraph` (pure Python: no Graphviz needed to write it).

Paste the text into any Graphviz viewer, or run ``dot -Tpdf arch.dot`` where Graphviz exists;
clusters become ``subgraph cluster_*`` frames and node kinds keep the colours of the SVG/PNG.
"""

from __future__ import annotations

from enas_tf2.render.arch_graph import ArchGraph
from enas_tf2.render.layout import kind_style


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _node_line(node, indent: str) -> str:
    fill, pill = kind_style(node.kind)
    shape = 'shape=box, style="rounded,filled"' if pill else 'shape=box, style="filled"'
    return f"{indent}{_quote(node.id)} [label={_quote(node.label)}, {shape}, fillcolor=\"{fill}\"];"


def to_dot(graph: ArchGraph) -> str:
    """The DOT text of `graph`: one statement per node and per edge, clusters as subgraphs."""
    lines = ["digraph arch {", f"  rankdir={graph.direction};",
             '  node [fontname="DejaVu Sans Mono", fontsize=11];',
             '  edge [arrowsize=0.7];']
    if graph.title:
        lines.append(f"  label={_quote(graph.title)}; labelloc=t;")
    for index, (cluster, nodes) in enumerate(graph.groups()):
        if cluster is None:
            lines.extend(_node_line(n, "  ") for n in nodes)
            continue
        lines.append(f"  subgraph cluster_{index} {{")
        lines.append(f"    label={_quote(cluster.title)}; style=rounded; color=\"#9e9e9e\";")
        lines.extend(_node_line(n, "    ") for n in nodes)
        lines.append("  }")
    for edge in graph.edges:
        attrs = []
        if edge.style == "dashed":
            attrs.append("style=dashed")
        if edge.route == "arc":
            # Skip arcs must not stretch the main chain's ranks.
            attrs.append("constraint=false")
        suffix = f" [{', '.join(attrs)}]" if attrs else ""
        lines.append(f"  {_quote(edge.src)} -> {_quote(edge.dst)}{suffix};")
    lines.append("}")
    return "\n".join(lines) + "\n"
