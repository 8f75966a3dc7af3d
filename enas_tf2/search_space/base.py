"""What a CNN search space provides to the space-independent loops and CLIs.

A space bundles: its typed architecture class, a controller (policy), a weight-shared child and a
fixed final network. The loops only ever see architectures as opaque int32 tensors (inside
`tf.function`) or as typed objects with `tokens()` / `to_json()` (outside), so adding the macro space
means adding one more implementation of this protocol, not editing the loops.
"""

from __future__ import annotations

from typing import Any, Protocol

import keras
import numpy as np


class CnnSearchSpace(Protocol):
    """Interface of an image-classification search space (micro now, macro next)."""

    name: str

    def arch_from_tokens(self, tokens: str) -> Any:
        """Parses (and validates) the original token string."""

    def arch_from_json(self, obj: dict) -> Any:
        """Parses an `arch.json` dict; refuses one of another space."""

    def arch_from_array(self, array: np.ndarray) -> Any:
        """Converts the controller's int32 tensor value to the typed architecture."""

    def random_arch(self, seed: int) -> Any:
        """A uniformly random architecture."""

    def build_controller(self) -> keras.Model:
        """The policy: ``controller(seed=...)`` samples, ``controller(arch=...)`` scores."""

    def build_child(self) -> keras.Model:
        """The weight-shared child: ``child(images, arch_tensor, training=...)`` → logits."""

    def build_fixed(self, arch: Any, total_steps: int) -> keras.Model:
        """The final network of one architecture."""
