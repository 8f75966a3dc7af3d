"""`MicroSpace`: the micro (cell) search space as the generic loops, CLIs and tools see it."""

from __future__ import annotations

from typing import List


from enas_tf2.configs.base import ControllerConfig
from enas_tf2.errors import EnasError
from enas_tf2.search_space.arch_parsing import ArchParsing
from enas_tf2.search_space.base import ActivationFloor, ArchCost
from enas_tf2.search_space.micro.arch import MicroArch
from enas_tf2.search_space.micro.config import MicroConfig
from enas_tf2.search_space.registry import register_space
from enas_tf2.search_space.stem_choice import (STEM_STRIDES, downsampled, floor_words,
                                               resolve_stem, stem_output_sizes)
from enas_tf2.data.specs import ImageSpec


@register_space("micro", MicroConfig)
class MicroSpace(ArchParsing):
    """Builds the micro controller, weight-shared child and fixed net for one `MicroConfig`."""

    task = "image_classification"
    num_branches = 5   # candidate ops per slot (`ops.py`)
    num_reductions = 2  # reduction cells after the stem (docs/enas_reference.md §1.2)

    arch_cls = MicroArch

    def __init__(self, config: MicroConfig):
        self.config = config

    def _check(self, arch: MicroArch) -> MicroArch:
        if arch.num_cells != self.config.num_cells:
            raise EnasError(f"the architecture has {arch.num_cells} nodes per cell but "
                            f"--child_num_cells={self.config.num_cells}")
        return arch

    def random_arch(self, seed: int) -> MicroArch:
        return MicroArch.random(self.config.num_cells, seed)

    def build_controller(self, controller_config: ControllerConfig):
        from enas_tf2.search_space.micro.controller import MicroController
        controller = MicroController(num_cells=self.config.num_cells, config=controller_config,
                                     op_tanh_reduce=self.config.op_tanh_reduce)
        controller.build()
        return controller

    def stem_for(self, input_spec: ImageSpec) -> str:
        """``cifar`` or ``imagenet``: ``config.stem`` with ``auto`` resolved for the image size;
        EnasError (one line, with the minimum size) when the images are too small for it."""
        return resolve_stem(self.config.stem, input_spec.height, input_spec.width,
                            self.num_reductions)

    def describe_stages(self, input_spec: ImageSpec, fixed: bool = False) -> List[str]:
        """Lines for the start of a run: the stem and the spatial size and width of each stage
        of cells (what decides memory and cost), e.g. ``cells 0-1: 28x28, 20 filters``. The
        search child and the `fixed` net share this skeleton, so `fixed` changes nothing."""
        c, stem = self.config, self.stem_for(input_spec)
        h, w = input_spec.height, input_spec.width
        chosen = f" (--child_stem=auto for {h}x{w} images)" if c.stem == "auto" else ""
        read = " and ".join(f"{a}x{b}" for a, b in stem_output_sizes(stem, h, w))
        lines = [f"stem {stem}{chosen}: {h}x{w} input, cells read {read} "
                 f"({3 * c.out_filters} channels)"]
        from enas_tf2.search_space.micro.net import reduction_cell_indices
        reductions = reduction_cell_indices(c.num_layers)
        bounds = [0, *reductions, c.num_layers + 2]
        for stage, (first, end) in enumerate(zip(bounds, bounds[1:])):
            if first == end:
                continue
            down = STEM_STRIDES[stem] + stage
            cells = f"cell {first}" if end - first == 1 else f"cells {first}-{end - 1}"
            reduce = f" (cell {first} reduces)" if stage else ""
            lines.append(f"{cells}: {downsampled(h, down)}x{downsampled(w, down)}, "
                         f"{c.out_filters * 2 ** stage} filters{reduce}")
        return lines

    def activation_floor(self, input_spec: ImageSpec, fixed: bool = False) -> ActivationFloor:
        """Stem outputs (3F channels) plus one F_s-channel map per node of every cell, float32:
        the search child and the fixed net share this skeleton, so `fixed` changes nothing."""
        from enas_tf2.search_space.micro.net import reduction_cell_indices
        c, stem = self.config, self.stem_for(input_spec)
        h, w = input_spec.height, input_spec.width
        floats = sum(a * b for a, b in stem_output_sizes(stem, h, w)) * 3 * c.out_filters
        bounds = [0, *reduction_cell_indices(c.num_layers), c.num_layers + 2]
        for stage, (first, end) in enumerate(zip(bounds, bounds[1:])):
            down = STEM_STRIDES[stem] + stage
            floats += ((end - first) * c.num_cells * c.out_filters * 2 ** stage
                       * downsampled(h, down) * downsampled(w, down))
        return ActivationFloor(4 * floats, floor_words(stem, "the stem and the first cells",
                                                       h, w))

    def arch_cost(self, arch: MicroArch, input_spec: ImageSpec) -> ArchCost:
        """Parameters and multiply-adds of `arch`'s inference network (no auxiliary head:
        what enas-export builds), from `cost.py`."""
        from enas_tf2.search_space.micro.cost import micro_cost
        c = self.config
        return micro_cost(self._check(arch), c.num_layers, c.out_filters,
                          self.stem_for(input_spec), input_spec.height, input_spec.width,
                          input_spec.num_classes)

    def latency_blocks(self, arch: MicroArch, input_spec: ImageSpec) -> list:
        """No latency table for this space yet (the nb201 space has one)."""
        raise EnasError("latency tables exist for the nb201 space only; for the micro space "
                        "use --objective=params or --objective=macs")

    def _check_aux_head(self, stem: str, input_spec: ImageSpec) -> None:
        # The aux head pools 5x5 windows of the map after the second reduction.
        down = STEM_STRIDES[stem] + self.num_reductions
        h, w = input_spec.height, input_spec.width
        if min(downsampled(h, down), downsampled(w, down)) < 5:
            raise EnasError(f"images of {h}x{w} are too small for the auxiliary head with "
                            f"--child_stem={stem}: each side must be at least "
                            f"{4 * 2 ** down + 1} px (it reads a map 1/{2 ** down} of the side, "
                            f"at least 5x5); use larger images or --nochild_use_aux_heads")

    def build_child(self, input_spec: ImageSpec):
        from enas_tf2.search_space.micro.child import MicroChild
        c = self.config
        stem = self.stem_for(input_spec)
        if c.use_aux_heads:
            self._check_aux_head(stem, input_spec)
        child = MicroChild(num_layers=c.num_layers, num_cells=c.num_cells,
                           out_filters=c.out_filters, num_classes=input_spec.num_classes,
                           keep_prob=c.keep_prob, stem=stem, use_aux_heads=c.use_aux_heads)
        child.build((None,) + input_spec.shape)
        return child

    def build_fixed(self, arch: MicroArch, input_spec: ImageSpec, total_steps: int):
        from enas_tf2.search_space.micro.net import MicroNet
        c = self.config
        stem = self.stem_for(input_spec)
        if c.use_aux_heads:
            self._check_aux_head(stem, input_spec)
        net = MicroNet(arch=self._check(arch), num_layers=c.num_layers, num_cells=c.num_cells,
                       out_filters=c.out_filters, num_classes=input_spec.num_classes,
                       keep_prob=c.keep_prob, drop_path_keep_prob=c.drop_path_keep_prob,
                       use_aux_heads=c.use_aux_heads, total_steps=total_steps, stem=stem)
        net.build((None,) + input_spec.shape)
        return net
