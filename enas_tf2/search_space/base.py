"""What a search space provides to the generic loops, CLIs and tools: the `Arch` and `SearchSpace`
protocols.

A space bundles its typed architecture class, a controller (policy), a weight-shared child and a
fixed final network. The loops see an architecture as an opaque int32 tensor inside `tf.function`
and as an `Arch` outside; they call exactly the methods listed here and nothing else, so adding a
space means adding one implementation of these protocols (registered in `registry.py`), never
editing `training/`. Only `search_space/<space>/` knows what the integers mean.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Dict, List, Protocol, runtime_checkable

import keras
import numpy as np

from enas_tf2.cost.arch_cost import ArchCost

__all__ = ["ActivationFloor", "Arch", "ArchCost", "SearchSpace"]


@runtime_checkable
class Arch(Protocol):
    """One architecture of a space: immutable, validated on construction."""

    search_space: ClassVar[str]   # the registered space name, also written into arch.json

    def tokens(self) -> str:
        """The original code's token string (one line)."""

    def to_json(self) -> Dict[str, Any]:
        """The `arch.json` object (with ``"search_space"``), the inverse of `arch_from_json`."""

    def to_array(self) -> np.ndarray:
        """The int32 tensor value the controller emits and the shared child consumes."""

    def histogram(self) -> Dict[str, int]:
        """Counts of each op name (and, where the space has them, of skip connections) for the
        progress lines, the report and the health warnings."""

    def describe(self) -> str:
        """A human-readable multi-line description of every node or layer."""


@dataclasses.dataclass(frozen=True)
class ActivationFloor:
    """A lower bound of the memory one example's activations take in a training step, from the
    network's shape alone (no step run): what the pre-flight checks before its memory probe,
    whose own small batches could otherwise be killed by the kernel at a huge image size.

    Attributes:
      bytes_per_example: float32 bytes of the tensors counted (stem outputs, one tensor per
        node or layer); a real step keeps several times more, so a refusal on it is never wrong.
      largest: what dominates, in the user's terms, with what would shrink it (e.g. the stem).
    """
    bytes_per_example: int
    largest: str


@runtime_checkable
class SearchSpace(Protocol):
    """A registered search space, built from its own config class (see `registry.py`).

    Attributes:
      name: the registered name (``micro``, ``macro``, ``rnn``).
      task: the name of the task whose inputs this space's networks take
        (``image_classification`` or ``language_model``).
      config: the space's config dataclass (network shape, space-only controller knobs).
      num_branches: candidate ops per decision (the original's ``child_num_branches``).
    """

    name: str
    task: str
    config: Any
    num_branches: int

    def arch_from_tokens(self, text: str) -> Arch:
        """Parses and validates the original token string; EnasError names the bad token."""

    def arch_from_json(self, obj: Dict[str, Any]) -> Arch:
        """Parses an `arch.json` dict; refuses one of another space."""

    def arch_from_array(self, array: np.ndarray) -> Arch:
        """Converts the controller's int32 tensor value to the typed architecture."""

    def random_arch(self, seed: int) -> Arch:
        """A uniformly random architecture (the space's own notion of uniform)."""

    def build_controller(self, controller_config: Any) -> keras.Model:
        """The policy (`PolicyController`): ``controller(seed=...)`` samples,
        ``controller(arch=...)`` scores; all weights created."""

    def build_child(self, input_spec: Any) -> keras.Model:
        """The weight-shared child for the task's `input_spec`, with every variable created."""

    def build_fixed(self, arch: Arch, input_spec: Any, total_steps: int) -> keras.Model:
        """The final network of `arch` for the task's `input_spec`, every variable created;
        `total_steps` feeds schedules inside the net (micro's drop path)."""

    def describe_stages(self, input_spec: Any, fixed: bool = False) -> List[str]:
        """Lines the loops log at the start of a run: for CNN spaces the stem and the effective
        resolution and width of each stage for `input_spec` (of the search child, or of the
        `fixed` net); ``[]`` when the space has no stages (RNN)."""

    def activation_floor(self, input_spec: Any, fixed: bool = False) -> ActivationFloor:
        """The `ActivationFloor` of the search child (or the `fixed` net) for `input_spec`;
        ``bytes_per_example=0`` when the space cannot bound it (the check is then skipped)."""

    def arch_cost(self, arch: Arch, input_spec: Any) -> ArchCost:
        """The `ArchCost` of `arch`'s inference network for `input_spec`, computed from the
        architecture and the space's settings; EnasError (one line) when the space has no
        notion of it (the RNN space)."""

    def latency_blocks(self, arch: Arch, input_spec: Any) -> List[Any]:
        """The `enas_tf2.cost.blocks.Block`s whose measured latencies add up to the latency of
        `arch`'s network (`enas-arch latency-table`); EnasError when the space has no table."""
