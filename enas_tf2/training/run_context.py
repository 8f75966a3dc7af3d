"""`RunContext`: what every run (search or final training) owns besides its models.

The strategy (everything stateful is created under its scope), the output folder and which task
of a multi-worker cluster writes there, one checkpoint of all state, and the run log. Orbit's rule:
all state in one checkpoint, built in one place.
"""

from __future__ import annotations

import os

import tensorflow as tf

from enas_tf2.configs.base import RunConfig
from enas_tf2.training.checkpointing import RunCheckpoint, prepare_output_dir
from enas_tf2.json_file import write_json
from enas_tf2.training.run_log import RunLog
from enas_tf2.training.strategy import task_info


class RunContext:
    """Output folder, chief/worker role, checkpoints and log of one run.

    Args:
      run: the run config (output folder, checkpoints kept, reset flag).
      strategy: the `tf.distribute` strategy every variable is created under.

    Attributes:
      is_chief: only the chief writes shared files; other workers write under ``worker-N/``.
      files_dir: where this task writes its own result files.
    """

    def __init__(self, run: RunConfig, strategy: tf.distribute.Strategy):
        self.run = run
        self.strategy = strategy
        self.is_chief, self.worker = task_info(strategy)
        prepare_output_dir(run.output_dir, run.reset_output_dir, self.is_chief)
        self.output_dir = run.output_dir
        self.files_dir = run.output_dir if self.is_chief else os.path.join(
            run.output_dir, f"worker-{self.worker}")
        os.makedirs(self.files_dir, exist_ok=True)
        self.log = None

    def scope(self):
        """``strategy.scope()``: create every model, optimizer and counter inside it."""
        return self.strategy.scope()

    def checkpoint(self, subdir: str = "ckpt", max_to_keep: int = 0, **objects) -> RunCheckpoint:
        """A `RunCheckpoint` of `objects` in ``OUTPUT_DIR/subdir`` (all state of the run)."""
        return RunCheckpoint(os.path.join(self.output_dir, subdir), self.is_chief, self.worker,
                             max_to_keep or self.run.keep_checkpoints, **objects)

    def open_log(self, resume_epoch: int) -> RunLog:
        """The run log; progress rows of epochs from `resume_epoch` on are dropped (re-run)."""
        self.log = RunLog(self.output_dir, self.is_chief, resume_epoch=resume_epoch)
        return self.log

    def write_json(self, name: str, obj: dict) -> str:
        """Writes ``files_dir/name`` atomically (every task writes its own copy); returns it."""
        path = os.path.join(self.files_dir, name)
        write_json(path, obj)
        return path
