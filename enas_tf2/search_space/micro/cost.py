"""Parameters and multiply-adds of a `MicroNet`, from the architecture and the network settings.

Mirrors `net.py` and `fixed_cell.py` (stem, N + 2 cells with their input calibrations, layer
base, separable convolutions applied twice, factorized reductions, the classifier) for the
inference network `enas-export` builds (no auxiliary head); checked against the built network in
tests/test_arch_cost.py.
"""

from __future__ import annotations

from enas_tf2.cost.tally import CostTally
from enas_tf2.search_space.base import ArchCost
from enas_tf2.search_space.micro import ops
from enas_tf2.search_space.micro.arch import NUM_INPUT_NODES, MicroArch
from enas_tf2.search_space.micro.net import reduction_cell_indices
from enas_tf2.search_space.stem_choice import STEM_STRIDES, downsampled


def _cell(t: CostTally, arch: MicroArch, reduction: bool, f: int, in_0, in_1, size):
    """Adds one cell reading ``in_0``/``in_1`` = (level, channels); returns its output's."""
    (level_0, c_0), (level_1, c_1) = in_0, in_1
    hw_in = size(level_1)
    if level_0 != level_1:                           # h0 is twice h1: factorized reduction
        t.factorized_reduction(c_0, f, hw_in)
    elif c_0 != f:
        t.conv_bn(1, c_0, f, hw_in)
    if c_1 != f:
        t.conv_bn(1, c_1, f, hw_in)
    t.conv_bn(1, f, f, hw_in)                        # layer_base
    level_out = level_1 + (1 if reduction else 0)
    hw_out = size(level_out)
    name = "reduce" if reduction else "normal"
    for node in arch.cell(name):
        for index, op in ((node.index_1, node.op_1), (node.index_2, node.op_2)):
            strided = reduction and index < NUM_INPUT_NODES
            if op in ops.SEP_CONV_OPS:               # {ReLU, dw k x k, pw 1x1, BN} twice
                k = ops.SEP_CONV_KERNEL_SIZE[op]
                for _ in range(2):
                    t.depthwise(k, f, hw_out)
                    t.conv_bn(1, f, f, hw_out)
            elif op == ops.IDENTITY and strided:
                t.factorized_reduction(f, f, hw_out)
    loose = arch.loose_ends(name)
    for n in loose:
        if reduction and n < NUM_INPUT_NODES:
            t.factorized_reduction(f, f, hw_out)
    return level_out, len(loose) * f


def micro_cost(arch: MicroArch, num_layers: int, out_filters: int, stem: str, height: int,
               width: int, num_classes: int) -> ArchCost:
    """The `ArchCost` of the fixed micro network of `arch` (`stem` already resolved)."""
    from enas_tf2.search_space.stem_cost import add_stem_cost

    def size(level):
        return downsampled(height, level) * downsampled(width, level)

    t = CostTally()
    add_stem_cost(t, stem, 3 * out_filters, height, width)
    first = STEM_STRIDES[stem]
    # Cell 0 reads (stem, stem), or the imagenet stem's (1/4, 1/8) outputs.
    prev = [(first - 1 if stem == "imagenet" else first, 3 * out_filters),
            (first, 3 * out_filters)]
    reductions = reduction_cell_indices(num_layers)
    f = out_filters
    for index in range(num_layers + 2):
        reduction = index in reductions
        f *= 2 if reduction else 1
        prev = [prev[1], _cell(t, arch, reduction, f, prev[0], prev[1], size)]
    t.dense(prev[1][1], num_classes)                 # ReLU, pool, dense without bias
    t.scalar(2)                                      # drop_path_step and the head's dropout_step
    return t.result()
