"""The skip sum of a weight-shared macro layer: ``y + sum_j bit_j * prev[j]`` for run-time bits.

Only the selected earlier outputs are read and added, and only they receive a gradient:

* The earlier outputs ``prev[0 .. i-1]`` sit in a TensorList (pushed once each; no copies).
* The forward is a while loop over the indices of the bits that are on, adding each selected
  element (`TensorListGetItem` copies nothing), i.e. the adds the static network does.
* The hand-written backward returns the list's gradient as a fresh list of ``i`` UNSET
  elements with ``dy`` set only at the selected indices. TensorList gradients add element-wise
  and treat unset elements as absent, so an unselected output gets no zeros from this layer;
  zeros are materialised at most once per output, when no layer at all selected it.

Multiplying every ``prev[j]`` by its bit instead would cost ``L(L-1)/2`` full-size
multiply-adds forward and backward; autodiff of a per-bit `tf.cond` would write a zeros tensor for
every unselected bit. Both functions are traced once and shared by every layer (shape-agnostic
signatures).
"""

from __future__ import annotations

import tensorflow as tf
from tensorflow.python.ops import list_ops

_BITS = tf.TensorSpec([None], tf.int32)
_NHWC = tf.TensorSpec([None] * 4, tf.float32)
_LIST = tf.TensorSpec([], tf.variant)


def _selected(bits):
    return tf.cast(tf.reshape(tf.where(bits > 0), [-1]), tf.int32)


@tf.function(input_signature=[_BITS, _NHWC, _LIST], autograph=False)
def _forward(bits, y, prev):
    index = _selected(bits)
    shape = tf.shape(y)

    def body(k, total):
        item = list_ops.tensor_list_get_item(prev, index[k], tf.float32, element_shape=shape)
        return k + 1, total + item

    _, total = tf.while_loop(lambda k, _: k < tf.size(index), body, (tf.constant(0), y))
    return total


@tf.function(input_signature=[_BITS, _NHWC], autograph=False)
def _backward(bits, dy):
    index = _selected(bits)
    grads = list_ops.tensor_list_reserve(tf.shape(dy), tf.size(bits), tf.float32)

    def body(k, grads):
        return k + 1, list_ops.tensor_list_set_item(grads, index[k], dy)

    _, grads = tf.while_loop(lambda k, _: k < tf.size(index), body, (tf.constant(0), grads))
    return grads


def skip_sum(bits, y, prev):
    """``y + sum_j bits[j] * prev[j]``.

    Args:
        bits: int32 ``[i]`` skip bits (0/1) of the layer.
        y: the layer's op output, NHWC.
        prev: TensorList of exactly ``i`` tensors shaped like `y` (the earlier outputs).

    Returns:
        The sum, shaped like `y` (static shape set from `y`).
    """

    @tf.custom_gradient
    def run(y, prev):
        total = _forward(bits, y, prev)

        def grad(dy):
            return dy, _backward(bits, dy)

        return total, grad

    total = run(y, prev)
    total.set_shape(y.shape)
    return total


def trace_counts():
    """(forward traces, backward traces): each stays at one however many layers use them."""
    return (_forward.experimental_get_tracing_count(),
            _backward.experimental_get_tracing_count())
