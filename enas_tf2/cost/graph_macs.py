"""An independent multiply-add count: walk the inference graph of a built Keras model and add
up the MACs of every convolution, depthwise convolution and matrix multiplication from the
shapes TensorFlow inferred. It knows nothing about spaces or architectures, so it checks each
space's own arithmetic (`search_space/<space>/cost.py`) in the tests and in `enas-arch cost`.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def _shape(tensor):
    return [int(d) for d in tensor.shape]


def _op_macs(op) -> int:
    if op.type == "Conv2D":
        kh, kw, c_in, c_out = _shape(op.inputs[1])
        _, h, w, _ = _shape(op.outputs[0])
        return h * w * kh * kw * c_in * c_out
    if op.type == "DepthwiseConv2dNative":
        kh, kw, c_in, mult = _shape(op.inputs[1])
        _, h, w, _ = _shape(op.outputs[0])
        return h * w * kh * kw * c_in * mult
    if op.type in ("MatMul", "BatchMatMulV2"):
        a, b = _shape(op.inputs[0]), _shape(op.inputs[1])
        rows = a[-1] if op.get_attr("transpose_a" if op.type == "MatMul" else "adj_x") else a[-2]
        inner = a[-2] if op.get_attr("transpose_a" if op.type == "MatMul" else "adj_x") else a[-1]
        cols = b[-2] if op.get_attr("transpose_b" if op.type == "MatMul" else "adj_y") else b[-1]
        return rows * inner * cols
    return 0


def _walk(graph, seen) -> int:
    # pylint: disable=protected-access  (the graph's own function library: no public accessor)
    total = 0
    for op in graph.get_operations():
        total += _op_macs(op)
        # Keras layers called inside a tf.function may appear as nested function calls.
        for attr in ("f", "then_branch", "else_branch", "body"):
            try:
                name = op.get_attr(attr).name
            except (ValueError, AttributeError):
                continue
            if name not in seen and name in graph._functions:
                seen.add(name)
                total += _walk(graph._functions[name].graph, seen)
    return total


def graph_macs(model, height: int, width: int, channels: int = 3) -> int:
    """Multiply-adds of one ``(1, height, width, channels)`` image through
    ``model(images, training=False)``, counted on the traced graph."""
    spec = tf.TensorSpec([1, height, width, channels], tf.float32)
    concrete = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec)
    return int(_walk(concrete.graph, set()))


def keras_params(model) -> int:
    """``model.count_params()`` (every weight, BN moving statistics and step counters included)."""
    return int(sum(int(np.prod(w.shape)) for w in model.weights))
