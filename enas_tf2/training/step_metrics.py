"""`StepMetrics`: running sums of per-step scalars, kept on the device between log points.

The compiled inner loop (`steps_per_loop` steps in one `tf.function` call, orbit's shape) adds each
step's loss, training metric and gradient norm here instead of handing them to Python; the outer
loop reads the means once per log interval. One device-to-host read per interval instead of
three per step.
"""

from __future__ import annotations

from typing import Dict

import tensorflow as tf

NAMES = ("loss", "metric", "grad_norm", "clipped", "steps")


class StepMetrics(tf.Module):
    """Sums of ``loss``, ``metric`` (the task's training metric), ``grad_norm``, ``clipped``
    (steps whose gradient norm exceeded the bound) and ``steps``; create under the strategy's
    scope, update in cross-replica context. A `tf.Module`, so the sums not yet read go into the
    run's checkpoint (a mid-epoch checkpoint can fall between two log points)."""

    def __init__(self):
        super().__init__(name="step_metrics")
        self.sums = {name: tf.Variable(0.0, trainable=False, name=f"metric_{name}")
                     for name in NAMES}

    def add(self, **values) -> None:
        """Adds one step's scalars (float32 tensors) to the sums."""
        for name, value in values.items():
            self.sums[name].assign_add(tf.cast(value, tf.float32))

    def read_and_reset(self) -> Dict[str, float]:
        """Means over the steps since the last read (``steps`` and ``clipped`` stay counts)."""
        values = {name: float(var.numpy()) for name, var in self.sums.items()}
        for var in self.sums.values():
            var.assign(0.0)
        steps = max(values["steps"], 1.0)
        return {name: (value if name in ("steps", "clipped") else value / steps)
                for name, value in values.items()}
