"""`RnnSpace`: the PTB recurrent-cell space as the generic loops, CLIs and tools see it."""

from __future__ import annotations

from typing import List

import numpy as np

from enas_tf2.configs.base import ControllerConfig
from enas_tf2.errors import EnasError
from enas_tf2.search_space.base import ActivationFloor
from enas_tf2.search_space.registry import register_space
from enas_tf2.search_space.rnn.arch import RnnArch
from enas_tf2.search_space.rnn.config import RnnConfig
from enas_tf2.data.specs import TokenSpec


@register_space("rnn", RnnConfig)
class RnnSpace:
    """Builds the RNN controller, weight-shared child and fixed language model for one
    `RnnConfig` (docs/enas_reference.md §1.3, §2.4, §5.2).

    The networks follow the language-model calling convention ``logits, new_state =
    model(tokens, state, [arch,] training=...)``; both have ``initial_state(batch_size)`` (the
    zero state) and register their regularisation penalty with ``add_loss`` when training (see
    `lm_base.RnnLanguageModel`).
    """

    task = "language_model"
    num_branches = 4   # activation functions per node (`functions.py`)

    def __init__(self, config: RnnConfig):
        self.config = config

    def _check(self, arch: RnnArch) -> RnnArch:
        c = self.config
        if arch.cell_variant != c.cell_variant or arch.num_nodes != c.num_nodes:
            raise EnasError(f"the architecture is a {arch.cell_variant} cell with "
                            f"{arch.num_nodes} nodes but the RNN space is {c.cell_variant} with "
                            f"num_nodes={c.num_nodes}")
        return arch

    def arch_from_tokens(self, text: str) -> RnnArch:
        return self._check(RnnArch.from_tokens(text, cell_variant=self.config.cell_variant))

    def arch_from_json(self, obj: dict) -> RnnArch:
        return self._check(RnnArch.from_json(obj))

    def arch_from_array(self, array: np.ndarray) -> RnnArch:
        return RnnArch.from_array(np.asarray(array), self.config.cell_variant)

    def random_arch(self, seed: int) -> RnnArch:
        return RnnArch.random(self.config.num_nodes, seed, self.config.cell_variant)

    def describe_stages(self, input_spec: TokenSpec, fixed: bool = False) -> List[str]:
        """No start-of-run stage lines: a recurrent cell has no spatial stages."""
        return []

    def activation_floor(self, input_spec: TokenSpec, fixed: bool = False) -> ActivationFloor:
        """No bound: a language model's memory follows the batch and window, which the memory
        probe does not measure either (it probes image tasks only)."""
        return ActivationFloor(0, "")

    def arch_cost(self, arch, input_spec):
        """Hardware costs are defined for the image spaces only."""
        raise EnasError("cost objectives (params, macs, latency) apply to the image search "
                        "spaces (micro, macro, nb201), not to the rnn space")

    def latency_blocks(self, arch, input_spec):
        """Hardware costs are defined for the image spaces only."""
        return self.arch_cost(arch, input_spec)

    def build_controller(self, controller_config: ControllerConfig):
        from enas_tf2.search_space.rnn.controller import RnnController
        controller = RnnController(num_nodes=self.config.num_nodes, config=controller_config,
                                   cell_variant=self.config.cell_variant)
        controller.build()
        return controller

    def build_child(self, input_spec: TokenSpec):
        from enas_tf2.search_space.rnn.child import RnnChild
        child = RnnChild(input_spec.vocab_size, self.config)
        child.build()
        return child

    def build_fixed(self, arch: RnnArch, input_spec: TokenSpec, total_steps: int):
        """The fixed language model (`total_steps` is unused: nothing in it is scheduled)."""
        from enas_tf2.search_space.rnn.net import RnnLM
        net = RnnLM(self._check(arch), input_spec.vocab_size, self.config)
        net.build()
        return net
