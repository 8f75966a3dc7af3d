"""Measuring latencies with the LiteRT interpreter: each distinct block of a space once (the
table), and whole fixed networks (to check what the table predicts).

Every model gets fresh random weights: latency depends on shapes, not on trained values. Int8
models are calibrated on random inputs for the same reason.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Dict, Optional

import numpy as np
import tensorflow as tf

from enas_tf2.cost.blocks import block_model, repeats, representative
from enas_tf2.cost.latency_table import LatencyTable, distinct_blocks
from enas_tf2 import litert_runtime

_MEAN, _STD = (0.49, 0.48, 0.45), (0.25, 0.24, 0.26)


def measure_blocks(blocks, precision: str, threads: int, runs: int,
                   progress: Optional[Callable[[str], None]] = None) -> Dict[str, float]:
    """``{key: ms}`` of each block: alone for the network's first block, else the latency of
    carrier + block (`repeats` copies, divided) minus that of the carrier alone
    (`blocks.block_model`), at least 0."""
    entries, carriers = {}, {}

    def latency(model):
        return litert_runtime.median_latency_ms(
            litert_runtime.make_interpreter(model, threads), runs=runs)

    for i, block in enumerate(blocks):
        value = latency(block_model(block, precision))
        if not block.first:
            shapes = tuple(tuple(s) for s in block.make()[1])
            last = block.last
            if (shapes, last) not in carriers:
                carriers[(shapes, last)] = latency(block_model(block, precision, True))
            value = max(0.0, value - carriers[(shapes, last)]) / repeats(block)
        entries[block.key] = value
        if progress:
            progress(f"  [{i + 1}/{len(blocks)}] {block.key}: {value:.4f} ms")
    return entries


def net_model(space, arch, input_spec, precision: str) -> bytes:
    """The ``.tflite`` model of `arch`'s fixed network as `enas-export --format=litert` writes
    it (pixels in, standardisation inside, probabilities out), with random weights."""
    from enas_tf2.data.images.augment import standardize
    net = space.build_fixed(arch, input_spec, total_steps=1)
    shape = (1, input_spec.height, input_spec.width, 3)

    def serve(pixels):
        return tf.nn.softmax(net(standardize(pixels, _MEAN, _STD), training=False))
    return litert_runtime.convert(serve, tf.TensorSpec(shape, tf.float32), precision,
                                  representative([shape], first=True)
                                  if precision == "int8" else None)


def measure_net(space, arch, input_spec, precision: str, threads: int, runs: int) -> float:
    """Median ms of one image through `arch`'s whole network."""
    interpreter = litert_runtime.make_interpreter(net_model(space, arch, input_spec, precision),
                                                  threads)
    return litert_runtime.median_latency_ms(interpreter, runs=runs)


def validate(table: LatencyTable, space, input_spec, num_nets: int, runs: int,
             progress=None) -> dict:
    """Predicted vs measured latency of `num_nets` random architectures' whole networks:
    ``{"nets": [...], "mean_abs_error_pct", "max_abs_error_pct"}``."""
    nets = []
    for seed in range(num_nets):
        arch = space.random_arch(10_000 + seed)
        predicted = table.predict_ms(space.latency_blocks(arch, input_spec))
        measured = measure_net(space, arch, input_spec, table.precision, table.threads, runs)
        error = 100.0 * (predicted - measured) / measured
        nets.append({"tokens": arch.tokens(), "predicted_ms": round(predicted, 4),
                     "measured_ms": round(measured, 4), "error_pct": round(error, 2)})
        if progress:
            progress(f"  net {seed + 1}/{num_nets}: predicted {predicted:.3f} ms, measured "
                     f"{measured:.3f} ms ({error:+.1f}%)  {arch.tokens()}")
    errors = [abs(n["error_pct"]) for n in nets]
    return {"nets": nets, "mean_abs_error_pct": round(float(np.mean(errors)), 2) if nets else None,
            "max_abs_error_pct": round(float(np.max(errors)), 2) if nets else None}


def build_latency_table(space, input_spec, threads: int = 1, precision: str = "float32",
                        runs: int = 100, check_nets: int = 5, progress=None) -> LatencyTable:
    """Measures every distinct block of `space` at `input_spec`, then checks the sums against
    `check_nets` whole networks; returns the `LatencyTable` (with its ``validation``)."""
    blocks = distinct_blocks(space, input_spec)
    if progress:
        progress(f"measuring {len(blocks)} blocks ({precision}, {threads} thread(s), median of "
                 f"{runs} runs each)")
    entries = measure_blocks(blocks, precision, threads, runs, progress)
    table = LatencyTable(space=space.name, space_config=dataclasses.asdict(space.config),
                         image_size=(input_spec.height, input_spec.width),
                         num_classes=input_spec.num_classes, threads=threads,
                         precision=precision, interpreter=litert_runtime.interpreter_source(),
                         entries=entries)
    if check_nets:
        table.validation = validate(table, space, input_spec, check_nets, runs, progress)
    return table
