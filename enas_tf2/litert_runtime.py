"""The LiteRT plumbing shared by `enas-export --format=litert` and `enas-arch latency-table`:
TensorFlow functions to ``.tflite`` flatbuffers (float32, or full-integer int8 calibrated on a
representative set), the interpreter, and a median latency measured with it.

The interpreter comes from the ``ai-edge-litert`` package (LiteRT, what runs on phones); when it
is not installed, TensorFlow's own ``tf.lite.Interpreter`` (the same kernels, deprecated in TF
2.21) is used instead.
"""

from __future__ import annotations

import contextlib
import logging
import os
import statistics
import sys
import time
import warnings
from typing import Callable, Iterable, List, Optional

import numpy as np
import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import (
    convert_variables_to_constants_v2)

PRECISIONS = ("float32", "int8")


@contextlib.contextmanager
def _native_stderr_muted():
    """Mutes file descriptor 2 around the converter and the interpreter's creation: their C++
    code prints calibration and delegate notices ("fully_quantize: 0, ...", "Created TensorFlow
    Lite XNNPACK delegate") that no log level reaches. Exceptions still propagate."""
    sys.stderr.flush()
    try:
        saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    except OSError:           # no file descriptor 2
        yield
        return
    os.dup2(null, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def interpreter_source() -> str:
    """``ai_edge_litert`` or ``tf.lite`` (the fallback): where `make_interpreter` loads from."""
    try:
        import ai_edge_litert.interpreter  # noqa: F401  pylint: disable=unused-import
        return "ai_edge_litert"
    except ImportError:
        return "tf.lite"


def make_interpreter(model: bytes, threads: int = 1):
    """An allocated interpreter of the flatbuffer `model` running on `threads` CPU threads."""
    if interpreter_source() == "ai_edge_litert":
        from ai_edge_litert.interpreter import Interpreter
    else:
        Interpreter = tf.lite.Interpreter   # pylint: disable=invalid-name
    with _native_stderr_muted():
        interpreter = Interpreter(model_content=model, num_threads=int(threads))
        interpreter.allocate_tensors()
    return interpreter


def convert(function: Callable, input_spec, precision: str,
            representative: Optional[Callable[[], Iterable[List[np.ndarray]]]] = None,
            input_type=tf.uint8, output_type=tf.float32) -> bytes:
    """The ``.tflite`` bytes of `function` at `input_spec` (one `tf.TensorSpec`, or a list for
    a function of several inputs).

    ``float32``: weights and activations stay float. ``int8``: full-integer quantisation,
    every op int8 (TFLITE_BUILTINS_INT8), activation ranges calibrated on the batches
    `representative` yields; the input becomes `input_type` (uint8 by default: a float input
    carrying 0..255 pixels is calibrated to scale 1, zero point 0, so raw image bytes go in),
    the output `output_type` (float32 by default; int8 for the latency table's inner blocks,
    whose outputs stay int8 inside a whole network).
    """
    specs = list(input_spec) if isinstance(input_spec, (list, tuple)) else [input_spec]
    # Variables become constants first: the converter's calibration cannot read resource
    # variables of a concrete function that has no trackable owner.
    frozen = convert_variables_to_constants_v2(
        tf.function(function).get_concrete_function(*specs))
    absl_logger = logging.getLogger("absl")
    level = absl_logger.level
    absl_logger.setLevel(logging.ERROR)   # "consider providing trackable_obj": it is frozen
    try:
        with _native_stderr_muted(), warnings.catch_warnings():
            # "Statistics for quantized inputs were expected": the uint8 input's range is the
            # calibrated pixel range, as intended.
            warnings.simplefilter("ignore", UserWarning)
            converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen])
            if precision == "int8":
                if representative is None:
                    raise ValueError("int8 conversion needs a representative dataset")
                converter.optimizations = [tf.lite.Optimize.DEFAULT]
                converter.representative_dataset = representative
                converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
                converter.inference_input_type = input_type
                converter.inference_output_type = output_type
            elif precision != "float32":
                raise ValueError(f"unknown precision {precision!r}")
            return converter.convert()
    finally:
        absl_logger.setLevel(level)


def set_input(interpreter, values: np.ndarray, index: int = 0) -> None:
    """Feeds float `values` to input `index`, quantising them with the input's scale and zero
    point when the model takes integers."""
    detail = interpreter.get_input_details()[index]
    dtype = detail["dtype"]
    if np.issubdtype(dtype, np.integer):
        scale, zero = detail["quantization"]
        info = np.iinfo(dtype)
        values = np.clip(np.round(values / (scale or 1.0) + zero), info.min, info.max)
    interpreter.set_tensor(detail["index"], values.astype(dtype))


def run(interpreter, values: np.ndarray) -> np.ndarray:
    """Output 0 of one invocation on `values` (float, dequantised if the output is integer)."""
    set_input(interpreter, values)
    interpreter.invoke()
    detail = interpreter.get_output_details()[0]
    out = interpreter.get_tensor(detail["index"])
    if np.issubdtype(out.dtype, np.integer):
        scale, zero = detail["quantization"]
        out = (out.astype(np.float32) - zero) * scale
    return out


def median_latency_ms(interpreter, runs: int = 50, warmup: int = 5, rounds: int = 3) -> float:
    """Median wall time of one invocation in milliseconds, on a fixed random input, after
    `warmup` invocations (the first ones allocate and pack weights).

    The median of each of `rounds` rounds of `runs` invocations is taken and the smallest kept:
    on a shared machine another process may hold the core through a whole round, and the
    quietest round is the closest to what the device does on its own."""
    rng = np.random.default_rng(0)
    for index, detail in enumerate(interpreter.get_input_details()):
        shape = [int(d) for d in detail["shape"]]
        set_input(interpreter, rng.uniform(0, 255, shape).astype(np.float32), index)
    for _ in range(warmup):
        interpreter.invoke()
    medians = []
    for _ in range(max(1, rounds)):
        times = []
        for _ in range(max(1, runs)):
            start = time.perf_counter()
            interpreter.invoke()
            times.append(time.perf_counter() - start)
        medians.append(statistics.median(times))
    return 1000.0 * min(medians)
