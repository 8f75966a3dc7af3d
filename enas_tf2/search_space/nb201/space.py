"""`Nb201Space`: the NAS-Bench-201 cell space as the generic loops, CLIs and tools see it."""

from __future__ import annotations

from typing import List


from enas_tf2.configs.base import ControllerConfig
from enas_tf2.errors import EnasError
from enas_tf2.search_space.arch_parsing import ArchParsing
from enas_tf2.search_space.base import ActivationFloor, ArchCost
from enas_tf2.search_space.nb201 import ops
from enas_tf2.search_space.nb201.arch import Nb201Arch
from enas_tf2.search_space.nb201.config import Nb201Config
from enas_tf2.search_space.registry import register_space
from enas_tf2.search_space.stem_choice import downsampled
from enas_tf2.data.specs import ImageSpec

NUM_REDUCTIONS = 2


@register_space("nb201", Nb201Config)
class Nb201Space(ArchParsing):
    """Builds the NAS-Bench-201 controller, weight-shared child and fixed net for one
    `Nb201Config`. A small CPU default: 6 decisions, C=16, and every derived cell can be looked
    up in the benchmark's table (`enas_tf2.ranking.nb201_table`)."""

    task = "image_classification"
    num_branches = ops.NUM_OPS

    arch_cls = Nb201Arch

    def __init__(self, config: Nb201Config):
        self.config = config

    def random_arch(self, seed: int) -> Nb201Arch:
        """Uniform over the 15,625 cells."""
        return Nb201Arch.random(seed)

    def build_controller(self, controller_config: ControllerConfig):
        from enas_tf2.search_space.nb201.controller import Nb201Controller
        controller = Nb201Controller(config=controller_config)
        controller.build()
        return controller

    def _check_size(self, input_spec: ImageSpec) -> None:
        smallest = 2 ** NUM_REDUCTIONS
        if min(input_spec.height, input_spec.width) < smallest:
            raise EnasError(f"images of {input_spec.height}x{input_spec.width} are too small for "
                            f"the nb201 network: its {NUM_REDUCTIONS} reductions need each side "
                            f"to be at least {smallest} px; use larger images")

    def describe_stages(self, input_spec: ImageSpec, fixed: bool = False) -> List[str]:
        """The stem and each stage's size and width (the child and the fixed net have the same
        shape)."""
        self._check_size(input_spec)
        c, h, w = self.config, input_spec.height, input_spec.width
        lines = [f"stem: 3x3 conv to {c.out_filters} channels at {h}x{w}"]
        for stage in range(NUM_REDUCTIONS + 1):
            after = " (after a residual reduction block)" if stage else ""
            lines.append(f"stage {stage}: {c.num_layers} cells at {downsampled(h, stage)}x"
                         f"{downsampled(w, stage)}, {c.out_filters * 2 ** stage} channels{after}")
        return lines

    def activation_floor(self, input_spec: ImageSpec, fixed: bool = False) -> ActivationFloor:
        """The stem's map plus the 3 computed nodes of every cell (C * 2^stage channels at the
        stage's size), float32; the child and the fixed net have the same shape."""
        c, h, w = self.config, input_spec.height, input_spec.width
        floats = c.out_filters * h * w
        for stage in range(NUM_REDUCTIONS + 1):
            floats += (c.num_layers * 3 * c.out_filters * 2 ** stage
                       * downsampled(h, stage) * downsampled(w, stage))
        return ActivationFloor(4 * floats, f"the stem and the first {c.num_layers} cells run at "
                                          f"the full {h}x{w} (this space has no downsampling stem)")

    def arch_cost(self, arch: Nb201Arch, input_spec: ImageSpec) -> ArchCost:
        """Parameters and multiply-adds of `arch`'s fixed network (`cost.py`)."""
        from enas_tf2.search_space.nb201.cost import nb201_cost
        self._check_size(input_spec)
        return nb201_cost(arch, self.config.out_filters, self.config.num_layers,
                          input_spec.height, input_spec.width, input_spec.num_classes)

    def latency_blocks(self, arch: Nb201Arch, input_spec: ImageSpec) -> list:
        """The blocks of `arch`'s network whose measured latencies add up to its own
        (`latency_blocks.py`)."""
        from enas_tf2.search_space.nb201.latency_blocks import nb201_blocks
        self._check_size(input_spec)
        return nb201_blocks(arch, self.config.out_filters, self.config.num_layers, input_spec)

    def build_child(self, input_spec: ImageSpec):
        from enas_tf2.search_space.nb201.child import Nb201Child
        self._check_size(input_spec)
        child = Nb201Child(out_filters=self.config.out_filters,
                           num_layers=self.config.num_layers,
                           num_classes=input_spec.num_classes)
        child.build((None,) + input_spec.shape)
        return child

    def build_fixed(self, arch: Nb201Arch, input_spec: ImageSpec, total_steps: int):
        """`total_steps` is unused: the network has no step-dependent schedule."""
        from enas_tf2.search_space.nb201.net import Nb201Net
        self._check_size(input_spec)
        if not isinstance(arch, Nb201Arch):
            raise EnasError(f"the nb201 space builds Nb201Arch cells, got "
                            f"{type(arch).__name__}")
        net = Nb201Net(arch=arch, out_filters=self.config.out_filters,
                       num_layers=self.config.num_layers, num_classes=input_spec.num_classes)
        net.build((None,) + input_spec.shape)
        return net
