"""`Block`: one piece of a network whose latency a latency table measures on its own.

A space cuts the fixed network of an architecture into blocks (`SearchSpace.latency_blocks`):
the stem with the input standardisation, each op of each cell at its stage's size, the additions
that join a node's inputs, the reduction blocks, the head. Blocks with the same `key` are the
same computation (same op, shapes and strides), so a table holds one measurement per key and
the latency of a network is predicted as the sum over its blocks.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, List, Tuple

import numpy as np
import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class Block:
    """One measurable piece of a network.

    Attributes:
      key: what identifies the computation, e.g. ``nor_conv_3x3@16x16x32``.
      make: builds ``(function, input_shapes)``: a function of float tensors of those shapes
        (batch 1) that computes the block with freshly initialised weights.
      first: it reads the image (uint8 pixels in, as the exported models take them).
      last: it produces the probabilities (float32 out).
      free: nothing to run (an identity); its latency is 0 and it is never measured.
      chain: its output has the shape of its first input, so a table times `REPEATS` copies in
        a row (the first input of each is the previous output) and divides: small ops take a
        few microseconds, about the noise of a single timed op.
    """
    key: str
    make: Callable[[], Tuple[Callable, List[Tuple[int, ...]]]] = None
    first: bool = False
    last: bool = False
    free: bool = False
    chain: bool = False


REPEATS = 8


def representative(input_shapes, first: bool, count: int = 8):
    """Calibration batches for a block's int8 conversion: random pixels 0..255 for the first
    block, standard-normal activations for the others (the ranges only set the scales, which
    do not change the latency)."""
    def batches():
        rng = np.random.default_rng(0)
        for _ in range(count):
            yield [(rng.integers(0, 256, s) if first else rng.normal(size=s)).astype(np.float32)
                   for s in input_shapes]
    return batches


def _carrier(x):
    # A cheap op in front of a block: inside a network a block never reads the model's input
    # tensor, and the first op reading it costs extra per element (measured: an int8 1x1 conv
    # alone 0.060 ms at 32x32x16, 0.0035 ms more for each further one chained behind it).
    return tf.nn.avg_pool2d(x, 3, 1, "SAME")


def repeats(block: Block) -> int:
    """How many copies of `block` its table model runs in a row."""
    return REPEATS if block.chain else 1


def block_model(block: Block, precision: str, carrier_only: bool = False) -> bytes:
    """The ``.tflite`` model of `block` at `precision`, with the input and output types the
    block has inside an exported network. A block that is not `first` reads its first input
    through `_carrier` (and a `chain` block runs `repeats` times); ``carrier_only`` converts
    the carrier alone (whose latency is then subtracted from the block's)."""
    from enas_tf2 import litert_runtime
    function, shapes = block.make()
    if not block.first:
        inner = function
        if carrier_only:
            def function(*xs):
                return _carrier(xs[0])     # other inputs unused (pruned by the converter)
        else:
            def function(*xs):
                y = _carrier(xs[0])
                for _ in range(repeats(block)):
                    y = inner(y, *xs[1:])
                return y
    specs = [tf.TensorSpec(s, tf.float32) for s in shapes]
    if precision == "float32":
        return litert_runtime.convert(function, specs, precision)
    return litert_runtime.convert(function, specs, precision,
                                  representative(shapes, block.first),
                                  input_type=tf.uint8 if block.first else tf.int8,
                                  output_type=tf.float32 if block.last else tf.int8)
