"""`MacroSpace`: the macro (whole network) search space as the generic loops, CLIs and tools
see it."""

from __future__ import annotations

from typing import List


from enas_tf2.configs.base import ControllerConfig
from enas_tf2.errors import EnasError
from enas_tf2.search_space.arch_parsing import ArchParsing
from enas_tf2.search_space.base import ActivationFloor, ArchCost
from enas_tf2.search_space.macro.arch import MacroArch, pool_layers
from enas_tf2.search_space.macro.config import MacroConfig
from enas_tf2.search_space.registry import register_space
from enas_tf2.search_space.stem_choice import (STEM_STRIDES, downsampled, floor_words,
                                               resolve_stem, stem_output_sizes)
from enas_tf2.data.specs import ImageSpec


@register_space("macro", MacroConfig)
class MacroSpace(ArchParsing):
    """Builds the macro controller, weight-shared child and fixed net for one `MacroConfig`."""

    task = "image_classification"
    num_branches = 6   # candidate ops per layer (`ops.py`)

    arch_cls = MacroArch

    def __init__(self, config: MacroConfig):
        self.config = config

    def _check(self, arch: MacroArch) -> MacroArch:
        if arch.num_layers != self.config.num_layers:
            raise EnasError(f"the architecture has {arch.num_layers} layers but "
                            f"--child_num_layers={self.config.num_layers}")
        return arch

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

    @property
    def num_reductions(self) -> int:
        """Stride-2 reductions after the stem: one after each pool layer (none when L < 3)."""
        return len(pool_layers(self.config.num_layers))

    def stem_for(self, input_spec: ImageSpec) -> str:
        """``cifar`` or ``imagenet``: ``config.stem`` with ``auto`` resolved for the image size;
        EnasError (one line, with the minimum size) when the images are too small for it."""
        return resolve_stem(self.config.stem, input_spec.height, input_spec.width,
                            self.num_reductions)

    def describe_stages(self, input_spec: ImageSpec, fixed: bool = False) -> List[str]:
        """Lines for the start of a run: the stem and the spatial size and width of each stage
        of layers, e.g. ``layers 4-7: 14x14, 72 filters (reduced after pool layer 3)``. The
        search child keeps F channels throughout; the `fixed` net doubles them at each stage."""
        c, stem = self.config, self.stem_for(input_spec)
        h, w = input_spec.height, input_spec.width
        chosen = f" (--child_stem=auto for {h}x{w} images)" if c.stem == "auto" else ""
        read_h, read_w = stem_output_sizes(stem, h, w)[-1]   # macro layers read the last output
        lines = [f"stem {stem}{chosen}: {h}x{w} input, layers read {read_h}x{read_w} "
                 f"({c.out_filters} channels)"]
        pools = pool_layers(c.num_layers)
        bounds = [0, *(p + 1 for p in pools), c.num_layers]
        for stage, (first, end) in enumerate(zip(bounds, bounds[1:])):
            down = STEM_STRIDES[stem] + stage
            layers = f"layer {first}" if end - first == 1 else f"layers {first}-{end - 1}"
            after = f" (reduced after pool layer {pools[stage - 1]})" if stage else ""
            lines.append(f"{layers}: {downsampled(h, down)}x{downsampled(w, down)}, "
                         f"{c.out_filters * (2 ** stage if fixed else 1)} filters{after}")
        return lines

    def activation_floor(self, input_spec: ImageSpec, fixed: bool = False) -> ActivationFloor:
        """Stem outputs plus one map per layer (F channels in the search child, F * 2^stage in
        the `fixed` net), float32."""
        c, stem = self.config, self.stem_for(input_spec)
        h, w = input_spec.height, input_spec.width
        floats = sum(a * b for a, b in stem_output_sizes(stem, h, w)) * c.out_filters
        bounds = [0, *(p + 1 for p in pool_layers(c.num_layers)), c.num_layers]
        for stage, (first, end) in enumerate(zip(bounds, bounds[1:])):
            down = STEM_STRIDES[stem] + stage
            floats += ((end - first) * c.out_filters * (2 ** stage if fixed else 1)
                       * downsampled(h, down) * downsampled(w, down))
        return ActivationFloor(4 * floats, floor_words(
            stem, "the stem and the first layers", h, w))

    def arch_cost(self, arch: MacroArch, input_spec: ImageSpec) -> ArchCost:
        """Parameters and multiply-adds of `arch`'s fixed network (`cost.py`)."""
        from enas_tf2.search_space.macro.cost import macro_cost
        c = self.config
        return macro_cost(self._check(arch), c.out_filters, c.fixed_ops,
                          self.stem_for(input_spec), input_spec.height, input_spec.width,
                          input_spec.num_classes)

    def latency_blocks(self, arch: MacroArch, input_spec: ImageSpec) -> list:
        """No latency table for this space yet (the nb201 space has one)."""
        raise EnasError("latency tables exist for the nb201 space only; for the macro space "
                        "use --objective=params or --objective=macs")

    def build_child(self, input_spec: ImageSpec):
        from enas_tf2.search_space.macro.child import MacroChild
        c = self.config
        child = MacroChild(num_layers=c.num_layers, out_filters=c.out_filters,
                           num_classes=input_spec.num_classes, keep_prob=c.keep_prob,
                           stem=self.stem_for(input_spec))
        child.build((None,) + input_spec.shape)
        return child

    def build_fixed(self, arch: MacroArch, input_spec: ImageSpec, total_steps: int):
        """`total_steps` is unused: the macro network has no step-dependent schedule."""
        from enas_tf2.search_space.macro.net import MacroNet
        c = self.config
        net = MacroNet(arch=self._check(arch), out_filters=c.out_filters,
                       num_classes=input_spec.num_classes, keep_prob=c.keep_prob,
                       fixed_ops=c.fixed_ops, stem=self.stem_for(input_spec))
        net.build((None,) + input_spec.shape)
        return net
