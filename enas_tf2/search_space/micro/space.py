"""`MicroSpace`: the micro (cell) search space as the loops and CLIs see it."""

from __future__ import annotations

import numpy as np

from enas_tf2.config import ControllerConfig, MicroChildConfig
from enas_tf2.errors import EnasError
from enas_tf2.search_space.micro.arch import MicroArch


class MicroSpace:
    """Builds the micro controller, weight-shared child and fixed net for one child config."""

    name = "micro"

    def __init__(self, child_cfg: MicroChildConfig, controller_cfg: ControllerConfig):
        self.child_cfg = child_cfg
        self.controller_cfg = controller_cfg

    def _check(self, arch: MicroArch) -> MicroArch:
        if arch.num_cells != self.child_cfg.num_cells:
            raise EnasError(f"the architecture has {arch.num_cells} nodes per cell but "
                            f"--child_num_cells={self.child_cfg.num_cells}")
        return arch

    def arch_from_tokens(self, tokens: str) -> MicroArch:
        return self._check(MicroArch.from_tokens(tokens))

    def arch_from_json(self, obj: dict) -> MicroArch:
        return self._check(MicroArch.from_json(obj))

    def arch_from_array(self, array: np.ndarray) -> MicroArch:
        return MicroArch.from_array(np.asarray(array))

    def random_arch(self, seed: int) -> MicroArch:
        return MicroArch.random(self.child_cfg.num_cells, seed)

    def build_controller(self):
        from enas_tf2.search_space.micro.controller import MicroController
        return MicroController(num_cells=self.child_cfg.num_cells, config=self.controller_cfg)

    def build_child(self):
        from enas_tf2.search_space.micro.child import MicroChild
        c = self.child_cfg
        return MicroChild(num_layers=c.num_layers, num_cells=c.num_cells,
                          out_filters=c.out_filters, num_classes=c.num_classes,
                          keep_prob=c.keep_prob)

    def build_fixed(self, arch: MicroArch, total_steps: int):
        from enas_tf2.search_space.micro.net import MicroNet
        c = self.child_cfg
        return MicroNet(arch=self._check(arch), num_layers=c.num_layers, num_cells=c.num_cells,
                        out_filters=c.out_filters, num_classes=c.num_classes,
                        keep_prob=c.keep_prob, drop_path_keep_prob=c.drop_path_keep_prob,
                        use_aux_heads=c.use_aux_heads, total_steps=total_steps)
