"""The Task seam: what is learned and how it is scored, so that `training/` stays generic.

The generic loops (`training/`) know neither the search space nor the modality. They ask a task
(in the spirit of TF Model Garden's `base_task.Task`) for everything modality-specific:

* the input (`build_data` -> `DataBundle` with the datasets, the `input_spec` the space builds its
  networks for, and how many steps make an epoch),
* the per-replica training loss including every regulariser, as a scalar ready for
  ``tape.gradient`` under ``tf.distribute`` (already divided by the GLOBAL batch),
* sum-able evaluation statistics (e.g. ``correct``/``count``, or ``nll_sum``/``tokens``), so a
  split is scored by summing over batches and replicas and deriving the score ONCE at the end
  (accuracy; perplexity = exp of the mean NLL, never a mean of batch perplexities),
* the controller reward derived from such statistics (accuracy, or ``80 / ppl``),
* metric names, the direction of the score and the unit of throughput (img/s vs tok/s),
* the optimizer and learning-rate schedule, and a per-batch gradient scale (1 for images; the
  language model's ``len / bptt`` for variable-length windows),
* carried state: `reset_state` at the points the task defines (epoch start, before each controller
  sample, before each evaluation pass); images carry none,
* optional weight averaging in final training (`after_train_step`, `eval_weights`,
  `observe_validation`, `checkpoint_items`); no-ops for images.

Models are called through a ``forward`` callable that the loop builds (the shared child bound to
the sampled architecture, or the fixed net), so the task does not care which one it is.

Design note: the language model (`tasks/language_model/task.py`, docs/enas_reference.md §5.2)
---------------------------------------------------------------------------
Batches are ``{"tokens": int32 [B, T + 1]}`` windows read in order from B parallel streams, with a
variable length T per step (one trace for every length: the signature's time axis is None). The
task owns the recurrent state as variables created under ``strategy.scope()`` with one value per
replica (``synchronization=ON_READ``); ``forward(inputs, state, training)`` returns
``(logits, new_state)``; `train_loss` reads the state, runs the model, assigns
``stop_gradient(new_state)`` back (truncated BPTT) and returns mean token cross-entropy plus weight
decay, activation L2 and slowness terms. `gradient_scale` returns ``T / bptt`` (the recipe scales
the learning rate by the window length); evaluation sums ``nll_sum``/``tokens`` over the whole split
with the state carried across consecutive batches; `reward` is ``80 / exp(nll_sum / tokens)`` on
the next sequential validation batch. An epoch is one pass over the training stream, so
`DataBundle.steps_per_epoch` is the number of windows of that pass.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, List, Protocol, Tuple, runtime_checkable

import tensorflow as tf

from enas_tf2.data.specs import DataBundle

Stats = Dict[str, tf.Tensor]
Forward = Callable[..., Any]


@dataclasses.dataclass(frozen=True)
class TaskMetrics:
    """How a task's numbers are named and read.

    Attributes:
      score: name of the evaluation score (``accuracy``, ``perplexity``).
      higher_is_better: direction of the score (accuracy up, perplexity down).
      unit: what throughput counts (``img`` or ``tok``), printed as ``img/s``.
      train_metric: name of the per-step training metric next to the loss (``acc``, ``ppl``).
    """
    score: str
    higher_is_better: bool
    unit: str
    train_metric: str


@runtime_checkable
class Task(Protocol):
    """The protocol every task implements (see the module docstring)."""

    name: str
    metrics: TaskMetrics

    def build_data(self, num_replicas: int) -> DataBundle:
        """Builds the datasets (validated; EnasError on bad input)."""

    def make_optimizer(self, steps_per_epoch: int) -> Tuple[Any, Callable[[Any], Any]]:
        """``(optimizer, lr_fn)``: a built-on-use Keras optimizer and ``lr_fn(iterations)``."""

    def create_state(self, forward_model: Any, global_batch: int) -> None:
        """Creates carried state variables for `forward_model` (no-op for stateless tasks);
        called under ``strategy.scope()``."""

    def reset_state(self) -> None:
        """Zeroes the carried state (no-op for stateless tasks); callable in any context."""

    def train_loss(self, forward: Forward, batch: Any, variables: list) -> Tuple[tf.Tensor, Stats]:
        """Per-replica ``(loss, stats)``: the loss to differentiate (regularisers included,
        divided by the global batch) and sum-able statistics of this replica's batch."""

    def eval_stats(self, forward: Forward, batch: Any) -> Stats:
        """Sum-able statistics of one replica's evaluation batch (``training=False``)."""

    def score(self, stats: Dict[str, float]) -> float:
        """The evaluation score of summed statistics (accuracy, perplexity)."""

    def train_metric(self, stats: Stats) -> tf.Tensor:
        """The training metric shown next to the loss, from summed statistics."""

    def reward(self, stats: Stats) -> tf.Tensor:
        """The controller reward of summed statistics (a float32 scalar tensor)."""

    def gradient_scale(self, batch: Any) -> tf.Tensor:
        """Factor applied to the clipped gradients of this batch (1 for images)."""

    def explain_error(self, err: Exception) -> Exception:
        """A user-facing `EnasError` for a TensorFlow error met while reading this task's data
        (e.g. a corrupt shard), or `err` itself when it is not about the data."""

    # ---- weight averaging (e.g. the language model's NT-ASGD; no-ops for other tasks) ----
    def after_train_step(self) -> None:
        """Called in cross-replica context right after every optimizer step."""

    def eval_weights(self) -> Any:
        """A context manager around every evaluation pass (swaps averaged weights in)."""

    def observe_validation(self, score: float) -> bool:
        """Called once after each validation pass of final training with its score."""

    # Names of what the training loss adds up (e.g. ``["cross-entropy", "0.0001 x L2 ..."]``),
    # filled when the loss is traced; the loops say it once before the first loss line.
    loss_terms: List[str]

    def checkpoint_items(self) -> Dict[str, Any]:
        """Trackables the task owns that must be saved with the run (e.g. an averager)."""
