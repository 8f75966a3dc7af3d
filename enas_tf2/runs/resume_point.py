"""Mid-epoch checkpoints: where inside an epoch a run stands, and when to save it.

A run killed at any step resumes from its newest checkpoint and ends exactly as the
uninterrupted run would have (on CPU with ``--deterministic``), because everything that decides
the next step is saved or is a pure function of saved counters:

* weights, optimizer slots, controller, baseline and every counter (the loops' checkpoints);
* the random streams: architectures are drawn statelessly from the step counters, the models'
  dropout and drop-path masks from counters in their weights (`layers/stream_seed.py`);
* the data position: the endless training and reward streams are rebuilt at the number of
  batches already drawn (`DataBundle.train_from` / `reward_from`), instead of saving a
  `tf.data` iterator (a `tf.distribute` iterator cannot be saved);
* this module's `ResumePoint`: the steps already done in the current epoch and the epoch's
  running totals, so a resumed epoch writes the same `progress.jsonl` row.

`IntervalSaver` saves the checkpoint every ``checkpoint_every_steps`` child steps or
``checkpoint_every_seconds`` seconds (whichever comes first), between compiled chunks of steps; the
epoch loop still saves at every epoch end. TensorFlow writes a checkpoint's files under temporary
names and updates the ``checkpoint`` index only once they are complete, so a kill during a save
leaves the previous checkpoint the newest (see `checkpointing.RunCheckpoint`).
"""

from __future__ import annotations

import json
import time
from typing import Dict, Optional

import tensorflow as tf

from enas_tf2.json_file import jsonable

TOTAL_NAMES = ("loss", "metric", "steps", "clipped")


class ResumePoint:
    """The position inside an epoch, as variables saved with the run's checkpoint.

    Attributes:
      epoch_step: training steps already done in the current epoch (0 at an epoch start).
      totals: float64 ``[4]``: the epoch's step-weighted loss and metric sums, steps and clipped
        steps read so far (`TOTAL_NAMES`).
      reward_batches: reward batches drawn so far (controller samples and scored samples).
      phases_done: 1 once the epoch's training phases (child, then controller) are finished and
        their record is in `partial`: a run killed later in the epoch (evaluation) does not
        train them again; 0 before.
      partial: that record, as JSON.
      archs_rows: rows of ``archs.jsonl`` when the checkpoint was written (-1: not known), so a
        resumed run drops exactly the rows written after it.

    Create OUTSIDE ``strategy.scope()`` (plain variables, read and written only by the host
    between compiled calls; `MultiWorkerMirroredStrategy` cannot broadcast a string variable's
    initial value).
    """

    def __init__(self):
        self.epoch_step = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch_step")
        self.totals = tf.Variable(tf.zeros([len(TOTAL_NAMES)], tf.float64), trainable=False,
                                  name="epoch_totals")
        self.reward_batches = tf.Variable(0, dtype=tf.int64, trainable=False,
                                          name="reward_batches")
        self.phases_done = tf.Variable(0, dtype=tf.int64, trainable=False, name="phases_done")
        self.partial = tf.Variable("", dtype=tf.string, trainable=False, name="partial_record")
        self.archs_rows = tf.Variable(-1, dtype=tf.int64, trainable=False, name="archs_rows")

    def items(self) -> Dict[str, tf.Variable]:
        """The trackables to put into the run's checkpoint."""
        return {"epoch_step": self.epoch_step, "epoch_totals": self.totals,
                "reward_batches": self.reward_batches, "phases_done": self.phases_done,
                "partial_record": self.partial, "archs_rows": self.archs_rows}

    @property
    def steps_done(self) -> int:
        """Training steps already done in the current epoch."""
        return int(self.epoch_step.numpy())

    def start_epoch(self) -> None:
        """Zeroes the position and totals (the epoch loop calls it when an epoch is finished)."""
        self.epoch_step.assign(0)
        self.totals.assign(tf.zeros_like(self.totals))
        self.phases_done.assign(0)
        self.partial.assign("")

    def finish_phases(self, record: Dict) -> None:
        """Marks the epoch's training phases done, keeping their `record` for a resume."""
        self.partial.assign(json.dumps(record, default=jsonable))
        self.phases_done.assign(1)

    def finished_record(self) -> Optional[Dict]:
        """The record of the epoch's finished training phases, or None if they are not done."""
        if int(self.phases_done.numpy()) == 0:
            return None
        return json.loads(self.partial.numpy().decode("utf-8"))

    @property
    def saved_archs_rows(self) -> Optional[int]:
        """Rows ``archs.jsonl`` had at the restored checkpoint (None: not known)."""
        rows = int(self.archs_rows.numpy())
        return rows if rows >= 0 else None

    def add_totals(self, loss: float, metric: float, steps: float, clipped: float) -> None:
        """Adds one log interval's means (weighted by its steps) to the epoch's totals."""
        self.totals.assign_add(tf.constant([loss * steps, metric * steps, steps, clipped],
                                           tf.float64))

    def read_totals(self) -> Dict[str, float]:
        """The epoch's totals by name."""
        return dict(zip(TOTAL_NAMES, (float(v) for v in self.totals.numpy())))


class IntervalSaver:
    """Every save of a run's checkpoint: every `every_steps` steps or `every_seconds` seconds
    (0 = never by that criterion) when `after_steps` is told how many steps just ran, after a
    phase (`after_phase`) and at each epoch end (`epoch_end`). Each save first records in
    `resume` how many rows the run `log`'s ``archs.jsonl`` has."""

    def __init__(self, checkpoint, resume: ResumePoint, log, every_steps: int = 0,
                 every_seconds: float = 0.0):
        self.checkpoint = checkpoint
        self.resume = resume
        self.log = log
        self.every_steps = max(0, int(every_steps))
        self.every_seconds = max(0.0, float(every_seconds))
        self.saved()

    def saved(self) -> None:
        """Restarts both intervals (after any save, mid-epoch or at an epoch end)."""
        self._steps = 0
        self._since = time.monotonic()

    def due(self) -> bool:
        """Whether an interval has elapsed."""
        return (self.every_steps and self._steps >= self.every_steps) or (
            self.every_seconds and time.monotonic() - self._since >= self.every_seconds)

    def after_steps(self, steps: int, where: Optional[str] = None) -> Optional[str]:
        """Counts `steps` more steps and saves when an interval has elapsed; returns the path
        saved (None when not due)."""
        self._steps += steps
        if not self.due():
            return None
        return self.save(where)

    def after_phase(self, where: Optional[str] = None) -> Optional[str]:
        """Saves when the TIME interval has elapsed (after a phase without steps, e.g. the
        controller's); returns the path saved or None."""
        if not (self.every_seconds and time.monotonic() - self._since >= self.every_seconds):
            return None
        return self.save(where)

    def save(self, where: Optional[str] = None) -> str:
        """Saves now (a mid-epoch checkpoint, logged) and restarts the intervals."""
        path = self._write()
        self.log.info(f"saved {path}" + (f" ({where})" if where else ""))
        return path

    def epoch_end(self) -> str:
        """The checkpoint of a finished epoch: the position inside the epoch starts over."""
        self.resume.start_epoch()
        return self._write()

    def _write(self) -> str:
        self.resume.archs_rows.assign(self.log.archs_rows)
        path = self.checkpoint.save()
        self.saved()
        return path
