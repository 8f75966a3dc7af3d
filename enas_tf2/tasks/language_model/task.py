"""`LanguageModelTask`: word-level language modelling with carried state (docs/enas_reference.md §5.2).

See the design note in `tasks/base.py`. What the generic loop must do, exactly:

Setup (under ``strategy.scope()``): build the model, then ``task.create_state(model,
global_batch)`` with the model `forward` will run (the shared child in a search, the fixed net in
final training) and the GLOBAL training batch. Optimizer: ``task.make_optimizer(steps)``; clip
with ``optim.grad_bound`` and multiply the clipped gradients by ``task.gradient_scale(batch)``
(enas_lm scales the learning rate by ``T / bptt``). Checkpoint ``task.checkpoint_items()``
alongside the model (the weight averager, if any; the carried state is not saved: it is reset at
every epoch start anyway).

``forward(tokens, state, training)`` -> ``(logits, new_state)``: the fixed net itself, or
``lambda tokens, state, training: child(tokens, state, arch, training=training)``.

Reset points (``task.reset_state()`` zeroes every carried state; cheap, any context):
  * at the start of every training epoch (an epoch is one pass over the rows; the data's
    `steps_per_epoch` windows);
  * before every evaluation pass (validation, test).
Rewards and, in a search, every evaluation batch start from a zero state of their own
(``carry_eval_state=False``), so controller phases never disturb the training state. (enas_lm
let a controller phase's first sample start from the carried training state, a side effect of
shared state variables, P10.) With ``carry_eval_state=True`` (final training) consecutive
evaluation batches of one pass carry their state, as enas_lm's final evaluation.

Weight averaging (final training, ``average_weights=True``; a no-op otherwise):
  * ``task.after_train_step()`` after every optimizer step, in cross-replica context (e.g. in
    the compiled training loop right after ``strategy.run(replica_step)``);
  * ``with task.eval_weights():`` around every evaluation pass (host side; swaps the averaged
    weights in once averaging has started, restores the trained ones after);
  * ``task.observe_validation(valid_perplexity)`` once after each validation pass (host side;
    applies the start trigger).

Statistics are sums (``nll_sum`` in nats, ``tokens``) over batches and replicas; the score is
``exp(nll_sum / tokens)`` computed once per split.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any, Dict, Optional

import tensorflow as tf

from enas_tf2.configs.base import OptimizerConfig
from enas_tf2.data.text.config import TextDataConfig
from enas_tf2.data.text.lm_pipeline import build_lm_data
from enas_tf2.errors import EnasError
from enas_tf2.data.specs import DataBundle
from enas_tf2.tasks.base import TaskMetrics
from enas_tf2.tasks.language_model.weight_averager import WeightAverager

# The controller's reward constant: reward = REWARD_CONSTANT / perplexity.
REWARD_CONSTANT = 80.0


class LanguageModelTask:
    """Next-word prediction on PTB-style id streams (see the module docstring for the loop's
    obligations).

    Args:
      data: the corpus and window settings.
      optim: SGD settings (the presets' `SEARCH_OPTIMIZER` / `FINAL_OPTIMIZER` in
        `search_space/rnn/presets.py` are the recipe's); its
        ``l2_reg`` must be 0, the weight decay lives in the space config.
      carry_eval_state: carry the state across the batches of an evaluation pass (final) or start
        every evaluation/reward batch from zeros (search: each batch may be another cell).
      average_weights: enas_lm's NT-ASGD-style averaging (final training).
      averaging_patience: its trigger's look-back (enas_lm final: 10).
      final: final training: the defaults of `carry_eval_state` and `average_weights` become
        True (enas_lm's final recipe); a search leaves both off.
    """

    name = "language_model"
    metrics = TaskMetrics(score="perplexity", higher_is_better=False, unit="tok",
                          train_metric="ppl")

    def __init__(self, data: TextDataConfig, optim: OptimizerConfig,
                 carry_eval_state: Optional[bool] = None,
                 average_weights: Optional[bool] = None, averaging_patience: int = 10,
                 final: bool = False):
        if optim.l2_reg:
            raise EnasError(f"the language model's weight decay is the RNN space's weight_decay; "
                            f"set the optimizer's l2_reg to 0 (got {optim.l2_reg})")
        self.data = data
        self.optim = optim
        self.loss_terms = ["cross-entropy"]
        self.carry_eval_state = bool(final if carry_eval_state is None else carry_eval_state)
        self.average_weights = bool(final if average_weights is None else average_weights)
        self.averaging_patience = int(averaging_patience)
        self.averager: Optional[WeightAverager] = None
        self._model = None
        self._train_state = None
        self._replicas = 1
        self._eval_states: Dict[int, tf.Variable] = {}

    # ---- data and optimizer --------------------------------------------------------------------
    def build_data(self, num_replicas: int) -> DataBundle:
        """The PTB datasets (`lm_pipeline.build_lm_data`)."""
        return build_lm_data(self.data, num_replicas)

    def explain_error(self, err: Exception) -> Exception:
        """Text input is read into memory up front (errors surface in `build_data`), so a
        TensorFlow error met in a step is not about the data: returned unchanged."""
        return err

    def make_optimizer(self, steps_per_epoch: int):
        """Plain SGD (momentum as configured, the recipe's is 0) and its rate schedule."""
        import keras

        from enas_tf2.optim.lr_schedule import make_child_lr_schedule
        schedule = make_child_lr_schedule(self.optim, steps_per_epoch)
        momentum = float(self.optim.momentum)
        optimizer = keras.optimizers.SGD(learning_rate=schedule, momentum=momentum,
                                         nesterov=bool(self.optim.nesterov and momentum > 0),
                                         name="child_sgd")
        return optimizer, schedule

    def gradient_scale(self, batch: Any) -> tf.Tensor:
        """``T / bptt`` for a window of T inputs: longer windows take proportionally larger
        steps (enas_lm's learning-rate scale)."""
        steps = tf.shape(batch["tokens"])[1] - 1
        return tf.cast(steps, tf.float32) / float(self.data.bptt)

    # ---- carried state -------------------------------------------------------------------------
    def _state_variable(self, rows: int, name: str) -> tf.Variable:
        # ON_READ: every replica reads and writes its own copy (its own rows).
        return tf.Variable(self._model.initial_state(rows), trainable=False, name=name,
                           synchronization=tf.VariableSynchronization.ON_READ,
                           aggregation=tf.VariableAggregation.MEAN)

    def create_state(self, forward_model: Any, global_batch: int) -> None:
        """Creates the per-replica training (and evaluation) states for `forward_model` (which
        must provide ``initial_state(rows)``) and, if enabled, the weight averager. Call under
        ``strategy.scope()``."""
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        sizes = {"batch_size": global_batch, "eval_batch_size": self.data.eval_batch_size,
                 "test_batch_size": self.data.test_batch_size}
        for name, size in sizes.items():
            if size % replicas:
                raise EnasError(f"{name}={size} must be a multiple of the {replicas} replicas")
        self._model = forward_model
        self._global_batch = int(global_batch)
        self._replicas = replicas
        self._train_state = self._state_variable(global_batch // replicas, "lm_train_state")
        self._eval_states = {}
        if self.carry_eval_state:
            for size in (self.data.eval_batch_size, self.data.test_batch_size):
                rows = size // replicas
                if rows not in self._eval_states:
                    self._eval_states[rows] = self._state_variable(rows, f"lm_eval_state_{rows}")
        if self.average_weights:
            self.averager = WeightAverager(forward_model.trainable_variables,
                                           self.averaging_patience)

    def reset_state(self) -> None:
        """Zeroes every carried state (training and evaluation)."""
        for variable in [self._train_state] + list(self._eval_states.values()):
            if variable is not None:
                variable.assign(tf.zeros(variable.shape, variable.dtype))

    def checkpoint_items(self) -> Dict[str, Any]:
        """Trackables to save with the model: ``{"lm_averager": ...}`` when averaging, and the
        carried training state with one replica (a mid-epoch checkpoint resumes it exactly).
        With several replicas a checkpoint would store the replicas' MEAN state, so it is not
        saved: a resumed epoch restarts its state from zeros (like an epoch start)."""
        items = {} if self.averager is None else {"lm_averager": self.averager}
        if self._train_state is not None and self._replicas == 1:
            items["lm_train_state"] = self._train_state
        return items

    def _require_state(self):
        if self._train_state is None:
            raise EnasError("LanguageModelTask.create_state(model, global_batch) must run "
                            "before training or evaluation")

    # ---- losses and statistics -----------------------------------------------------------------
    @staticmethod
    def _nll(logits, targets):
        return tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.cast(targets, tf.int32), logits=tf.cast(logits, tf.float32))

    def train_loss(self, forward, batch: Any, variables: list):
        """Per-replica ``(loss, stats)``: token CE summed over this replica's rows and divided by
        ``global_batch * T`` (the replicas' losses add up to the global mean), plus the model's
        penalty (weight decay, activation L2, slowness; from ``model.losses``) divided by the
        replica count. The carried state is read, and the new one stored without gradient.
        `variables` is unused: the weight decay is part of the model's penalty."""
        self._require_state()
        tokens = batch["tokens"]
        inputs, targets = tokens[:, :-1], tokens[:, 1:]
        logits, new_state = forward(inputs, self._train_state.read_value(), training=True)
        self._train_state.assign(tf.stop_gradient(new_state))
        nll = self._nll(logits, targets)
        nll_sum = tf.reduce_sum(nll)
        steps = tf.cast(tf.shape(targets)[1], tf.float32)
        loss = nll_sum / (float(self._global_batch) * steps)
        losses = self._model.losses
        self.loss_terms = ["cross-entropy"]   # what the logged loss holds (see train_phase)
        if losses:
            loss += tf.add_n(losses) / float(self._replicas)
            self.loss_terms.append("the cell's penalties (weight decay, activation and "
                                   "slowness regularisers)")
        return loss, {"nll_sum": nll_sum, "tokens": tf.cast(tf.size(nll), tf.float32)}

    def eval_stats(self, forward, batch: Any) -> Dict[str, tf.Tensor]:
        """``{"nll_sum", "tokens"}`` of one replica's evaluation (or reward) batch."""
        self._require_state()
        tokens = batch["tokens"]
        inputs, targets = tokens[:, :-1], tokens[:, 1:]
        rows = tokens.shape[0]
        if self.carry_eval_state:
            if rows not in self._eval_states:
                raise EnasError(f"no carried evaluation state for batches of {rows} rows per "
                                f"replica (the text data config gives "
                                f"{sorted(self._eval_states)})")
            state = self._eval_states[rows]
            logits, new_state = forward(inputs, state.read_value(), training=False)
            state.assign(new_state)
        else:
            logits, _ = forward(inputs, self._model.initial_state(tf.shape(tokens)[0]),
                                training=False)
        nll = self._nll(logits, targets)
        return {"nll_sum": tf.reduce_sum(nll), "tokens": tf.cast(tf.size(nll), tf.float32)}

    def score(self, stats: Dict[str, float]) -> float:
        """Perplexity ``exp(nll_sum / tokens)`` of summed statistics."""
        return math.exp(float(stats["nll_sum"]) / max(float(stats["tokens"]), 1.0))

    def train_metric(self, stats) -> tf.Tensor:
        """Training perplexity of summed statistics."""
        return tf.exp(stats["nll_sum"] / tf.maximum(stats["tokens"], 1.0))

    def reward(self, stats) -> tf.Tensor:
        """``80 / perplexity`` (float32 scalar)."""
        return REWARD_CONSTANT / self.train_metric(stats)

    # ---- weight averaging (final training) -----------------------------------------------------
    def after_train_step(self) -> None:
        """Updates the weight average (cross-replica context); no-op without averaging."""
        if self.averager is not None:
            self.averager.update()

    def eval_weights(self):
        """Context manager for an evaluation pass: averaged weights once averaging started."""
        if self.averager is None:
            return contextlib.nullcontext(False)
        return self.averager.averaged_weights()

    def observe_validation(self, perplexity: float) -> bool:
        """Feeds one validation perplexity to the averaging trigger; returns whether averaging
        is on (always False without averaging)."""
        return False if self.averager is None else self.averager.observe(perplexity)
