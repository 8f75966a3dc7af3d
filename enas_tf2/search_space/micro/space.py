"""`MicroSpace`: the micro (cell) search space as the generic loops, CLIs and tools see it."""

from __future__ import annotations

import numpy as np

from enas_tf2.configs.base import ControllerConfig
from enas_tf2.errors import EnasError
from enas_tf2.search_space.micro.arch import MicroArch
from enas_tf2.search_space.micro.config import MicroConfig
from enas_tf2.search_space.registry import register_space
from enas_tf2.tasks.base import ImageSpec


@register_space("micro", MicroConfig)
class MicroSpace:
    """Builds the micro controller, weight-shared child and fixed net for one `MicroConfig`."""

    task = "image_classification"
    num_branches = 5   # candidate ops per slot (`ops.py`)

    def __init__(self, config: MicroConfig):
        self.config = config

    def _check(self, arch: MicroArch) -> MicroArch:
        if arch.num_cells != self.config.num_cells:
            raise EnasError(f"the architecture has {arch.num_cells} nodes per cell but "
                            f"--child_num_cells={self.config.num_cells}")
        return arch

    def arch_from_tokens(self, text: str) -> MicroArch:
        return self._check(MicroArch.from_tokens(text))

    def arch_from_json(self, obj: dict) -> MicroArch:
        return self._check(MicroArch.from_json(obj))

    def arch_from_array(self, array: np.ndarray) -> MicroArch:
        return MicroArch.from_array(np.asarray(array))

    def random_arch(self, seed: int) -> MicroArch:
        return MicroArch.random(self.config.num_cells, seed)

    def build_controller(self, controller_config: ControllerConfig):
        from enas_tf2.search_space.micro.controller import MicroController
        controller = MicroController(num_cells=self.config.num_cells, config=controller_config,
                                     op_tanh_reduce=self.config.op_tanh_reduce)
        controller.build()
        return controller

    def build_child(self, input_spec: ImageSpec):
        from enas_tf2.search_space.micro.child import MicroChild
        c = self.config
        child = MicroChild(num_layers=c.num_layers, num_cells=c.num_cells,
                           out_filters=c.out_filters, num_classes=input_spec.num_classes,
                           keep_prob=c.keep_prob)
        child.build((None,) + input_spec.shape)
        return child

    def build_fixed(self, arch: MicroArch, input_spec: ImageSpec, total_steps: int):
        from enas_tf2.search_space.micro.net import MicroNet
        c = self.config
        net = MicroNet(arch=self._check(arch), num_layers=c.num_layers, num_cells=c.num_cells,
                       out_filters=c.out_filters, num_classes=input_spec.num_classes,
                       keep_prob=c.keep_prob, drop_path_keep_prob=c.drop_path_keep_prob,
                       use_aux_heads=c.use_aux_heads, total_steps=total_steps)
        net.build((None,) + input_spec.shape)
        return net
