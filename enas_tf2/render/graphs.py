"""Which module draws which space: space name → its ``graph.py`` builder, imported lazily.

Drawing an architecture must not import TensorFlow, so the builders live in plain modules next to
each space's `arch.py` and are loaded only when a picture of that space is asked for.
"""

from __future__ import annotations

import importlib

from enas_tf2.errors import EnasError
from enas_tf2.render.arch_graph import ArchGraph

# space name -> (module, function taking that space's Arch and returning an ArchGraph)
_BUILDERS = {
    "micro": ("enas_tf2.search_space.micro.graph", "micro_graph"),
    "macro": ("enas_tf2.search_space.macro.graph", "macro_graph"),
    "rnn": ("enas_tf2.search_space.rnn.graph", "rnn_graph"),
    "nb201": ("enas_tf2.search_space.nb201.graph", "nb201_graph"),
}


def drawable_spaces() -> list:
    """Names of the spaces whose graph builder is installed."""
    return sorted(name for name, (module, _) in _BUILDERS.items()
                  if importlib.util.find_spec(module.rsplit(".", 1)[0]) is not None
                  and importlib.util.find_spec(module) is not None)


def graph_for(arch) -> ArchGraph:
    """The `ArchGraph` of `arch` (any registered space's `Arch`), from its space's builder."""
    name = getattr(arch, "search_space", None)
    if name not in _BUILDERS:
        raise EnasError(f"no picture for search space {name!r}; drawable spaces: "
                        f"{', '.join(drawable_spaces())}")
    module, function = _BUILDERS[name]
    try:
        builder = getattr(importlib.import_module(module), function)
    except ModuleNotFoundError as err:
        if err.name and module.startswith(err.name):
            raise EnasError(f"search space {name!r} has no graph builder ({module}) installed") \
                from None
        raise
    graph = builder(arch)
    if not isinstance(graph, ArchGraph):
        raise TypeError(f"{module}.{function} returned {type(graph).__name__}, not ArchGraph")
    return graph
