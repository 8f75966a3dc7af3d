"""How much memory one more example of batch costs, measured at batch sizes that surely fit.

A batch too large for RAM used to end in a kernel kill or a segmentation fault in the middle of
the first step, with no advice. The probe runs the training loss's forward and backward pass (the
gradient of every weight) in one `tf.function` traced with an unknown batch dimension, at small
batch sizes in increasing order, and records the process's resident high-water mark during the
first step at each size (what a first step at that size adds to everything the process already
holds and caches). A line through the last two, ``peak(b) = peak(b2) + per_example * (b - b2)``,
plus the input pipeline's buffers, is the projection the pre-flight compares with the memory the
machine has (`host_memory.memory_limit`). Weights are not changed (gradients are computed, not
applied) and every non-trainable variable (batch-norm statistics, dropout seeds) is restored.

Measured against the real runs' peaks on the CIFAR-10 subset (the fit before `MARGIN` vs the
real peak): search child (6 layers, 20 filters) at batch 64: 2.59 vs 2.77 GiB, at 160: 4.86 vs
5.11 GiB; the published final net at 160: 12.31 vs 12.50 GiB; a tiny final net at 1024: 1.58 vs
1.83 GiB. The search probe samples its architecture with the controller inside the step, as the
real step does: with a given architecture the same child step needs 1.7 GiB less at batch 160.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional

import numpy as np
import tensorflow as tf

from enas_tf2.runs import host_memory

# Batches the input pipeline holds ahead of the step (prefetch, the parallel map's output, the
# batch being assembled): counted on top of the network's own memory.
INPUT_BUFFER_BATCHES = 4
# Growth between the two probed sizes below which they are doubled (caches and noise dominate).
MIN_GROWTH = 64 << 20
# The fit under-counted the real runs' peaks by 2 to 14 % (module docstring): the projection adds
# 15 % to what the run needs above the memory held before.
MARGIN = 1.15


@dataclasses.dataclass
class MemoryFit:
    """A linear fit of the process's peak memory against the batch size.

    Attributes:
      batches: the two probed batch sizes.
      peaks: the process's resident high-water mark during the first step at each, above `base`.
      per_example: bytes per example (the slope; at least the input bytes of one example).
      input_bytes: bytes of one input example (the pipeline's buffers hold these).
      base: resident bytes of the process before the probe.
    """
    batches: tuple
    peaks: tuple
    per_example: float
    input_bytes: int
    base: int

    def peak_at(self, batch: int) -> float:
        """Projected peak resident bytes of the process for a run at `batch` (`MARGIN` on top
        of the fitted line and the input buffers)."""
        step = self.peaks[1] + self.per_example * (batch - self.batches[1])
        return self.base + MARGIN * (max(step, 0.0) + INPUT_BUFFER_BATCHES * self.input_bytes
                                     * batch)

    def largest_batch(self, limit: float, multiple: int = 1) -> int:
        """The largest batch (a multiple of `multiple`) whose projected peak uses at most 90 % of
        the room `limit` leaves above the memory held before (the suggestion must fit when
        measured, not just when projected); 0 when even `multiple` does not fit."""
        per = self.per_example + INPUT_BUFFER_BATCHES * self.input_bytes
        room = 0.9 * (limit - self.base) / MARGIN - self.peaks[1] \
            + self.per_example * self.batches[1]
        batch = int(room // per) if per > 0 else 0
        return max(0, batch - batch % multiple)


def probe_batches(batch: int) -> tuple:
    """The first two batch sizes probed for a run at `batch` (1/16 and 1/8 of it, 2 to 16)."""
    small = max(2, min(8, batch // 16))
    return small, 2 * small


def _synthetic(spec: tf.TensorSpec, batch: int, rng: np.random.Generator) -> tf.Tensor:
    shape = [batch] + list(spec.shape[1:])
    if spec.dtype.is_floating:
        return tf.constant(rng.standard_normal(shape).astype(spec.dtype.as_numpy_dtype))
    return tf.zeros(shape, spec.dtype)    # labels 0: a valid class of every task


def probe_memory(loss_fn: Callable, element_spec, model, variables: list,
                 batch: int, extra: tuple = ()) -> Optional[MemoryFit]:
    """Fits `MemoryFit` for ``loss_fn(batch structure, *extra) -> scalar`` over `variables`.

    The probed sizes start at `probe_batches` and double while the step's memory grows by less
    than `MIN_GROWTH` between them (allocator caches and noise hide small growths; a step that
    small is also cheap to run bigger), up to a quarter of the run's batch.

    Args:
      loss_fn: the task's training loss of one batch (a structure like `element_spec`).
      element_spec: the training dataset's element spec; its first dimension is the batch.
      model: the network (its non-trainable variables are restored after the probe).
      variables: the trainable variables the gradient is taken of.
      batch: the run's batch size.
      extra: tensors passed to `loss_fn` as inputs of the compiled step, not as constants (a
        weight-shared child's architecture: as a constant, the compiler would prune the branches
        it does not take and the probe would under-count the real step).
    Returns None when the kernel gives no resident-memory figures.
    """
    specs = tf.nest.map_structure(
        lambda s: tf.TensorSpec([None] + list(s.shape[1:]), s.dtype), element_spec)

    extra_specs = [tf.TensorSpec(t.shape, t.dtype) for t in extra]

    @tf.function(input_signature=[specs] + extra_specs)
    def forward_backward(inputs, *args):
        with tf.GradientTape() as tape:
            loss = loss_fn(inputs, *args)
        grads = tape.gradient(loss, variables)
        # Reading every gradient forces the whole backward pass to run.
        return tf.add_n([tf.reduce_sum(tf.cast(g, tf.float32)) for g in grads if g is not None])

    rng = np.random.default_rng(0)

    def peak_of_first_step(size: int) -> int:
        inputs = tf.nest.map_structure(lambda s: _synthetic(s, size, rng), specs)
        host_memory.reset_peak_rss()
        forward_backward(inputs, *extra).numpy()
        return host_memory.peak_rss()

    saved = [v.numpy() for v in model.non_trainable_variables]
    base = host_memory.current_rss()
    if not host_memory.reset_peak_rss():
        return None
    try:
        forward_backward(tf.nest.map_structure(lambda s: _synthetic(s, 1, rng), specs),
                         *extra)                                                   # trace
        b1, b2 = probe_batches(batch)
        p1, p2 = peak_of_first_step(b1), peak_of_first_step(b2)
        while p2 - p1 < MIN_GROWTH and 2 * b2 <= max(batch // 4, b2):
            b1, b2, p1 = b2, 2 * b2, p2
            p2 = peak_of_first_step(b2)
    finally:
        for var, value in zip(model.non_trainable_variables, saved):
            var.assign(value)
    input_bytes = sum(int(np.prod(s.shape[1:])) * s.dtype.size
                      for s in tf.nest.flatten(element_spec))
    per_example = max((p2 - p1) / (b2 - b1), float(input_bytes))
    return MemoryFit((b1, b2), (max(0, p1 - base), max(0, p2 - base)), float(per_example),
                     input_bytes, base)
