"""`ArchParsing`: a space's ``arch_from_tokens/json/array`` for an `Arch` class that parses itself,
checked against the space's config by the space's ``_check``."""

from __future__ import annotations

import numpy as np


class ArchParsing:
    """Mix into a space class that sets ``arch_cls`` (with ``from_tokens``, ``from_json`` and
    ``from_array``) and may override ``_check(arch)`` to refuse architectures its config does
    not fit (e.g. another node count)."""

    arch_cls: type

    def _check(self, arch):
        return arch

    def arch_from_tokens(self, text: str):
        """The architecture of a token string, checked against this space's config."""
        return self._check(self.arch_cls.from_tokens(text))

    def arch_from_json(self, obj: dict):
        """The architecture of an ``arch.json`` object, checked against this space's config."""
        return self._check(self.arch_cls.from_json(obj))

    def arch_from_array(self, array: np.ndarray):
        """The architecture of the controller's integer array."""
        return self.arch_cls.from_array(np.asarray(array))
