"""`MacroSpace`: the macro (whole network) search space as the generic loops, CLIs and tools
see it."""

from __future__ import annotations

import numpy as np

from enas_tf2.configs.base import ControllerConfig
from enas_tf2.errors import EnasError
from enas_tf2.search_space.macro.arch import MacroArch
from enas_tf2.search_space.macro.config import MacroConfig
from enas_tf2.search_space.registry import register_space
from enas_tf2.tasks.base import ImageSpec


@register_space("macro", MacroConfig)
class MacroSpace:
    """Builds the macro controller, weight-shared child and fixed net for one `MacroConfig`."""

    task = "image_classification"
    num_branches = 6   # candidate ops per layer (`ops.py`)

    def __init__(self, config: MacroConfig):
        self.config = config

    def _check(self, arch: MacroArch) -> MacroArch:
        if arch.num_layers != self.config.num_layers:
            raise EnasError(f"the architecture has {arch.num_layers} layers but "
                            f"--child_num_layers={self.config.num_layers}")
        return arch

    def arch_from_tokens(self, text: str) -> MacroArch:
        return self._check(MacroArch.from_tokens(text))

    def arch_from_json(self, obj: dict) -> MacroArch:
        return self._check(MacroArch.from_json(obj))

    def arch_from_array(self, array: np.ndarray) -> MacroArch:
        return MacroArch.from_array(np.asarray(array))

    def random_arch(self, seed: int) -> MacroArch:
        """Ops uniform, each skip on with probability ``skip_target`` (the paper's random macro
        networks use 0.4, the script's target)."""
        return MacroArch.random(self.config.num_layers, seed, skip_prob=self.config.skip_target)

    def build_controller(self, controller_config: ControllerConfig):
        from enas_tf2.search_space.macro.controller import MacroController
        c = self.config
        controller = MacroController(num_layers=c.num_layers, config=controller_config,
                                     skip_target=c.skip_target, skip_weight=c.skip_weight)
        controller.build()
        return controller

    def build_child(self, input_spec: ImageSpec):
        from enas_tf2.search_space.macro.child import MacroChild
        c = self.config
        child = MacroChild(num_layers=c.num_layers, out_filters=c.out_filters,
                           num_classes=input_spec.num_classes, keep_prob=c.keep_prob)
        child.build((None,) + input_spec.shape)
        return child

    def build_fixed(self, arch: MacroArch, input_spec: ImageSpec, total_steps: int):
        """`total_steps` is unused: the macro network has no step-dependent schedule."""
        from enas_tf2.search_space.macro.net import MacroNet
        c = self.config
        net = MacroNet(arch=self._check(arch), out_filters=c.out_filters,
                       num_classes=input_spec.num_classes, keep_prob=c.keep_prob,
                       fixed_ops=c.fixed_ops)
        net.build((None,) + input_spec.shape)
        return net
