"""Maps ``--search_for`` to a search space implementation."""

from __future__ import annotations

from enas_tf2.config import ControllerConfig, MicroChildConfig
from enas_tf2.errors import EnasError


def make_space(search_for: str, child_cfg: MicroChildConfig, controller_cfg: ControllerConfig):
    """Returns the `CnnSearchSpace` named by `search_for`."""
    if search_for == "micro":
        from enas_tf2.search_space.micro.space import MicroSpace
        return MicroSpace(child_cfg, controller_cfg)
    if search_for == "macro":
        raise EnasError("--search_for=macro is not available yet in enas_tf2 (it is next on the "
                        "roadmap); use --search_for=micro")
    raise EnasError(f"unknown --search_for={search_for!r}; choose micro")
