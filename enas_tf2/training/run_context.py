"""`RunContext`: what every run (search or final training) owns besides its models.

The strategy (everything stateful is created under its scope), the output folder and which task
of a multi-worker cluster writes there, one checkpoint of all state, and the run log. Orbit's rule:
all state in one checkpoint, built in one place.

Resume safety (chief only, before anything in the folder is touched): the folder's lock is taken
(`run_lock`: a second process on the same folder is refused, a lock left by a killed run is taken
over), the rerun's configuration is compared with the saved ``experiment.json`` (`run_signature`:
changes that would corrupt the run are refused, harmless ones logged), and, once the state is
restored (`open_log`), the configuration is written as ``experiment.json``.
"""

from __future__ import annotations

import logging
import os
from typing import Optional

import tensorflow as tf

from enas_tf2.configs.base import RunConfig
from enas_tf2.json_file import write_json
from enas_tf2.runs.checkpointing import RunCheckpoint, prepare_output_dir
from enas_tf2.runs.run_lock import LOCK_FILE, RunLock
from enas_tf2.training.run_log import RunLog
from enas_tf2.runs.run_signature import EXPERIMENT_FILE, check_resume
from enas_tf2.runs.storage_errors import explain_storage_error, lost_worker_error
from enas_tf2.training.strategy import task_info

LOGGER = logging.getLogger("enas_tf2")
# Files whose presence means the folder holds a run worth protecting from a changed rerun.
SAVED_STATE = (os.path.join("ckpt", "checkpoint"), os.path.join("best", "checkpoint"),
               "arch.json", "result.json")


def has_saved_state(output_dir: str) -> bool:
    """Whether `output_dir` holds a checkpoint or a finished run's result."""
    return any(os.path.exists(os.path.join(output_dir, name)) for name in SAVED_STATE)


class RunContext:
    """Output folder, chief/worker role, checkpoints and log of one run.

    Args:
      run: the run config (output folder, checkpoints kept, reset flag).
      strategy: the `tf.distribute` strategy every variable is created under.
      experiment: the run's identity as saved in ``experiment.json``: ``cfg.to_json()`` plus
        ``kind`` ("search" / "final") and, for final training, ``arch``. None (tests, tools that
        only read) skips the lock and the comparison.

    Attributes:
      is_chief: only the chief writes shared files; other workers write under ``worker-N/``.
      files_dir: where this task writes its own result files.
      accepted_changes: settings that differ from the saved run but are harmless (logged).

    Call `close()` when the run ends (releases the lock); it is also a context manager.
    """

    def __init__(self, run: RunConfig, strategy: tf.distribute.Strategy,
                 experiment: Optional[dict] = None):
        self.run = run
        self.strategy = strategy
        self.is_chief, self.worker = task_info(strategy)
        self.output_dir = run.output_dir
        self.lock: Optional[RunLock] = None
        self.experiment = experiment if self.is_chief else None
        self.accepted_changes = []
        self._checkpoints = []
        if experiment is not None and self.is_chief:
            prepare_output_dir(run.output_dir, False, True)
            self.lock = RunLock(run.output_dir)
            self.lock.acquire()          # before any reset: never wipe a running run's folder
        try:
            prepare_output_dir(run.output_dir, run.reset_output_dir, self.is_chief,
                               keep=(LOCK_FILE,))
            if self.lock is not None:
                self._check(experiment)
        except BaseException:
            self.close()
            raise
        self.files_dir = run.output_dir if self.is_chief else os.path.join(
            run.output_dir, f"worker-{self.worker}")
        os.makedirs(self.files_dir, exist_ok=True)
        self.log = None

    def _check(self, experiment: dict) -> None:
        if self.lock.took_over:
            LOGGER.info("took over the lock of a run that is no longer running (%s)",
                        self.lock.took_over)
        if has_saved_state(self.output_dir):
            self.accepted_changes = check_resume(self.output_dir, experiment)
            for change in self.accepted_changes:
                LOGGER.info("resuming with a changed setting: %s", change)

    def close(self) -> None:
        """Releases the run folder's lock (idempotent)."""
        if self.lock is not None:
            self.lock.release()

    def __enter__(self) -> "RunContext":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def scope(self):
        """``strategy.scope()``: create every model, optimizer and counter inside it."""
        return self.strategy.scope()

    def checkpoint(self, subdir: str = "ckpt", max_to_keep: int = 0, **objects) -> RunCheckpoint:
        """A `RunCheckpoint` of `objects` in ``OUTPUT_DIR/subdir`` (all state of the run)."""
        ckpt = RunCheckpoint(os.path.join(self.output_dir, subdir), self.is_chief, self.worker,
                             max_to_keep or self.run.keep_checkpoints, **objects)
        self._checkpoints.append(ckpt)
        return ckpt

    @property
    def latest_checkpoint(self) -> Optional[str]:
        """The newest checkpoint of the run's main (first) checkpoint, or None."""
        if not self._checkpoints:
            return None
        try:
            return tf.train.latest_checkpoint(self._checkpoints[0].chief_directory)
        except Exception:  # pylint: disable=broad-except  (the folder may be gone)
            return None

    def explain_error(self, err: BaseException) -> BaseException:
        """An EnasError for a write that failed in the run folder (disk full, read-only,
        deleted) or a multi-worker peer that stopped, naming the checkpoint that is kept; `err`
        itself otherwise."""
        if isinstance(err, (tf.errors.UnavailableError, tf.errors.AbortedError)) \
                and isinstance(self.strategy, tf.distribute.MultiWorkerMirroredStrategy):
            return lost_worker_error(err, self.latest_checkpoint)
        return explain_storage_error(err, self.output_dir, self.latest_checkpoint)

    def open_log(self, resume_epoch: int, archs_rows: Optional[int] = None) -> RunLog:
        """The run log; progress rows of epochs from `resume_epoch` on are dropped (re-run), and
        ``archs.jsonl`` is cut to the `archs_rows` it had at the restored checkpoint.

        The loops open it once their state is restored, so this is also where the run's
        ``experiment.json`` is (re)written: a run refused before (a checkpoint that cannot be
        read) leaves the folder as it was."""
        if self.experiment is not None and self.lock is not None:
            write_json(os.path.join(self.output_dir, EXPERIMENT_FILE), self.experiment)
        self.log = RunLog(self.output_dir, self.is_chief, resume_epoch=resume_epoch,
                          archs_rows=archs_rows)
        return self.log

    def write_json(self, name: str, obj: dict) -> str:
        """Writes ``files_dir/name`` atomically (every task writes its own copy); returns it."""
        path = os.path.join(self.files_dir, name)
        write_json(path, obj)
        return path
