"""The micro (cell) search space (docs/enas_reference.md §1.2): op table, typed architecture, controller."""

from enas_tf2.search_space.micro import ops
from enas_tf2.search_space.micro.arch import MicroArch, MicroNode
from enas_tf2.search_space.micro.controller import MicroController

__all__ = ["MicroArch", "MicroController", "MicroNode", "ops"]
