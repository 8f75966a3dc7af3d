"""How much memory one more example of batch costs, measured at batch sizes that surely fit.

A batch too large for RAM used to end in a kernel kill or a segmentation fault in the middle of
the first step, with no advice. The probe runs the network's forward and backward pass (the
task's training loss, gradients of every weight) at two SMALL batch sizes in one `tf.function`
traced with an unknown batch dimension, records the resident-memory high-water mark above the
current RSS during each, and fits a line: ``peak(b) = peak(b2) + per_example * (b - b2)``. The
projection for the run's batch, plus its input buffers, is what the pre-flight compares with the
memory the machine has (`host_memory.memory_limit`). Weights are not changed (gradients are
computed, not applied) and every non-trainable variable (batch-norm statistics, dropout seeds)
is restored afterwards.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional

import numpy as np
import tensorflow as tf

from enas_tf2.training import host_memory

# Batches the input pipeline holds ahead of the step (prefetch, the parallel map's output, the
# batch being assembled): counted on top of the network's own memory.
INPUT_BUFFER_BATCHES = 4


@dataclasses.dataclass
class MemoryFit:
    """A linear fit of the step's peak memory against the batch size.

    Attributes:
      batches: the two probed batch sizes.
      peaks: bytes above the RSS before each probed step (its high-water mark).
      per_example: bytes per example (slope; at least the input bytes of one example).
      input_bytes: bytes of one input example (the pipeline's buffers hold these).
      rss: resident bytes of the process when the probe ran.
    """
    batches: tuple
    peaks: tuple
    per_example: float
    input_bytes: int
    rss: int

    def peak_at(self, batch: int) -> float:
        """Projected peak resident bytes of the process for a step at `batch`."""
        step = self.peaks[1] + self.per_example * (batch - self.batches[1])
        return self.rss + max(step, 0.0) + INPUT_BUFFER_BATCHES * self.input_bytes * batch

    def largest_batch(self, limit: float, multiple: int = 1) -> int:
        """The largest batch (a multiple of `multiple`) whose projected peak stays within 90 % of
        `limit`; 0 when even `multiple` does not fit."""
        per = self.per_example + INPUT_BUFFER_BATCHES * self.input_bytes
        room = 0.9 * limit - self.rss - self.peaks[1] + self.per_example * self.batches[1]
        batch = int(room // per) if per > 0 else 0
        return max(0, batch - batch % multiple)


def probe_batches(batch: int) -> tuple:
    """Two small batch sizes to probe for a run at `batch` (1/16 and 1/8 of it, 2 to 16)."""
    small = max(2, min(8, batch // 16))
    return small, 2 * small


def _synthetic(spec: tf.TensorSpec, batch: int, rng: np.random.Generator) -> tf.Tensor:
    shape = [batch] + list(spec.shape[1:])
    if spec.dtype.is_floating:
        return tf.constant(rng.standard_normal(shape).astype(spec.dtype.as_numpy_dtype))
    return tf.zeros(shape, spec.dtype)    # labels 0: a valid class of every task


def probe_memory(loss_fn: Callable, element_spec, model, variables: list,
                 batch: int) -> Optional[MemoryFit]:
    """Fits `MemoryFit` for ``loss_fn(forward_batch) -> scalar`` over `variables`.

    Args:
      loss_fn: the task's training loss of one batch (a structure like `element_spec`).
      element_spec: the training dataset's element spec; its first dimension is the batch.
      model: the network (its non-trainable variables are restored after the probe).
      variables: the trainable variables the gradient is taken of.
      batch: the run's batch size (the probes use 1/16 and 1/8 of it).
    Returns None when the kernel gives no resident-memory figures.
    """
    specs = tf.nest.map_structure(
        lambda s: tf.TensorSpec([None] + list(s.shape[1:]), s.dtype), element_spec)

    @tf.function(input_signature=[specs])
    def forward_backward(inputs):
        with tf.GradientTape() as tape:
            loss = loss_fn(inputs)
        grads = tape.gradient(loss, variables)
        # Reading every gradient forces the whole backward pass to run.
        return tf.add_n([tf.reduce_sum(tf.cast(g, tf.float32)) for g in grads if g is not None])

    saved = [v.numpy() for v in model.non_trainable_variables]
    rng = np.random.default_rng(0)
    b1, b2 = probe_batches(batch)
    try:
        forward_backward(tf.nest.map_structure(lambda s: _synthetic(s, b1, rng), specs))  # trace
        peaks = []
        for size in (b1, b2):
            inputs = tf.nest.map_structure(lambda s, n=size: _synthetic(s, n, rng), specs)
            rss = host_memory.current_rss()
            if not host_memory.reset_peak_rss():
                return None
            forward_backward(inputs).numpy()
            peaks.append(max(0, host_memory.peak_rss() - rss))
    finally:
        for var, value in zip(model.non_trainable_variables, saved):
            var.assign(value)
    input_bytes = sum(int(np.prod(s.shape[1:])) * s.dtype.size
                      for s in tf.nest.flatten(element_spec))
    slope = (peaks[1] - peaks[0]) / (b2 - b1)
    # Allocator reuse can hide part of the growth; one example never costs less than its input
    # and its share of the larger probe's peak bounds the slope from below as well.
    per_example = max(slope, input_bytes, 0.5 * peaks[1] / b2)
    return MemoryFit((b1, b2), tuple(peaks), float(per_example), input_bytes,
                     host_memory.current_rss())
