"""All state of a run in ONE `tf.train.Checkpoint`, saved by a `CheckpointManager` each epoch.

Rerunning the same command restores the newest checkpoint and continues; nothing is wiped unless
the user asks (``--reset_output_dir``). Under multi-worker training every worker must take part in a
save (variables may be read collectively), but only the chief's copy is kept: the others write to a
temporary folder that is deleted right away (the documented MultiWorkerMirroredStrategy pattern).
"""

from __future__ import annotations

import os
import shutil
from typing import Optional

import tensorflow as tf

from enas_tf2.errors import EnasError


def prepare_output_dir(output_dir: str, reset: bool, is_chief: bool = True) -> None:
    """Creates `output_dir`; wipes it first only when `reset` is set (never silently)."""
    if reset and is_chief and os.path.isdir(output_dir):
        shutil.rmtree(output_dir)
    try:
        os.makedirs(output_dir, exist_ok=True)
    except OSError as err:
        raise EnasError(f"cannot create --output_dir {output_dir!r}: {err.strerror}") from err


class RunCheckpoint:
    """One checkpoint of every stateful object of a run (models, optimizers, counters, RNGs).

    Args:
      directory: where the chief keeps its checkpoints (e.g. ``OUTPUT_DIR/ckpt``).
      is_chief, worker_index: from `strategy.task_info`; non-chiefs save to a throwaway folder.
      max_to_keep: number of checkpoints kept.
      **objects: trackables to save, e.g. ``child=..., controller=..., step=...``.
    """

    def __init__(self, directory: str, is_chief: bool = True, worker_index: int = 0,
                 max_to_keep: int = 2, **objects):
        self.checkpoint = tf.train.Checkpoint(**objects)
        self.is_chief = is_chief
        self.chief_directory = directory
        self.directory = directory if is_chief else os.path.join(
            os.path.dirname(directory.rstrip("/")), f".worker-{worker_index}-tmp", "ckpt")
        self.manager = tf.train.CheckpointManager(self.checkpoint, self.directory,
                                                  max_to_keep=max_to_keep)

    @property
    def latest(self) -> Optional[str]:
        """Path prefix of the newest checkpoint, or None."""
        return self.manager.latest_checkpoint

    def restore_latest(self) -> Optional[str]:
        """Restores the newest checkpoint if there is one; returns its path (None = fresh run)."""
        # Every worker resumes from the chief's checkpoint so that all replicas agree.
        path = tf.train.latest_checkpoint(self.chief_directory)
        if path is None:
            return None
        try:
            self.checkpoint.restore(path).expect_partial()
        except (tf.errors.OpError, ValueError, AssertionError) as err:
            raise EnasError(f"checkpoint {path} cannot be restored ({type(err).__name__}: "
                            f"{str(err).splitlines()[0]}); it was written by a different "
                            f"configuration or is corrupt. Use another --output_dir or "
                            f"--reset_output_dir") from err
        return path

    def save(self, number: int) -> str:
        """Saves checkpoint `number` (the epoch); non-chief copies are removed right away."""
        path = self.manager.save(checkpoint_number=number)
        if not self.is_chief:
            shutil.rmtree(self.directory, ignore_errors=True)
        return path
