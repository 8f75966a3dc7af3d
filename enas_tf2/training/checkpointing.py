"""All state of a run in ONE `tf.train.Checkpoint`, saved by a `CheckpointManager` at every epoch end
and every checkpoint interval (`resume_point.IntervalSaver`).

Rerunning the same command restores the newest checkpoint and continues; nothing is wiped unless
the user asks (``--reset_output_dir``). Under multi-worker training every worker must take part in a
save (variables may be read collectively), but only the chief's copy is kept: the others write to a
temporary folder that is deleted right away (the documented MultiWorkerMirroredStrategy pattern).

Faults never cost a saved checkpoint: a save that fails (disk full, folder read-only or deleted)
removes its half-written files and stops the run with one line naming the checkpoint that is kept
(TensorFlow updates the ``checkpoint`` index file only after a complete save, so the previous
checkpoint stays the newest). A newest checkpoint that cannot be read (a half-written or damaged
file) is reported and the previous one is restored instead.
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
from typing import Optional, Sequence

import tensorflow as tf

from enas_tf2.errors import EnasError
from enas_tf2.training.storage_errors import explain_storage_error

LOGGER = logging.getLogger("enas_tf2")


def prepare_output_dir(output_dir: str, reset: bool, is_chief: bool = True,
                       keep: Sequence[str] = ()) -> None:
    """Creates `output_dir`; wipes its contents first only when `reset` is set (never silently),
    sparing the entries named in `keep` (the run lock)."""
    if os.path.exists(output_dir) and not os.path.isdir(output_dir):
        raise EnasError(f"--output_dir {output_dir!r} is a file, not a folder; choose a folder "
                        f"path (it is created if missing)")
    if reset and is_chief and os.path.isdir(output_dir):
        for name in os.listdir(output_dir):
            if name in keep:
                continue
            path = os.path.join(output_dir, name)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.remove(path)
    try:
        os.makedirs(output_dir, exist_ok=True)
    except OSError as err:
        raise EnasError(f"cannot create --output_dir {output_dir!r}: {err.strerror}; choose a "
                        f"folder you can write to") from err
    if is_chief and not os.access(output_dir, os.W_OK | os.X_OK):
        raise EnasError(f"--output_dir {output_dir!r} is not writable (no permission, or a "
                        f"read-only file system); choose a folder you can write to")


def _first_line(err: BaseException) -> str:
    text = (getattr(err, "message", None) or str(err)).strip().splitlines()
    return text[0] if text else type(err).__name__


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
        if is_chief:
            self._remove_stale_temp()

    def _remove_stale_temp(self) -> None:
        """Deletes the temporary files of a save that a kill interrupted (``ckpt-N_temp*``):
        never part of a checkpoint, they would only pile up. The run lock is held, so no other
        process is writing here."""
        _delete(glob.glob(os.path.join(self.directory, "*_temp*")))

    @property
    def latest(self) -> Optional[str]:
        """Path prefix of the newest checkpoint, or None."""
        return self.manager.latest_checkpoint

    def saved_paths(self) -> list:
        """The chief's checkpoints, oldest first (from the ``checkpoint`` index file)."""
        try:
            state = tf.train.get_checkpoint_state(self.chief_directory)
        except Exception:  # pylint: disable=broad-except  (a damaged index file)
            state = None
        if state is None:
            latest = tf.train.latest_checkpoint(self.chief_directory)
            return [latest] if latest else []
        # get_checkpoint_state already prefixes relative entries with the directory; joining
        # again broke resume for a relative --output_dir (runs/s/ckpt/runs/s/ckpt/ckpt-1).
        return list(state.all_model_checkpoint_paths) or [state.model_checkpoint_path]

    def restore_latest(self) -> Optional[str]:
        """Restores the newest readable checkpoint; returns its path (None = fresh run).

        Every worker resumes from the chief's checkpoints so that all replicas agree. When the
        newest cannot be read (half-written, damaged), the one before it is tried, with a
        warning; EnasError when none can be restored."""
        paths = self.saved_paths()
        if not paths:
            return None
        failures = []
        for path in reversed(paths):
            try:
                self.checkpoint.restore(path).expect_partial()
            except EnasError:
                raise
            except Exception as err:  # pylint: disable=broad-except  (IndexError on truncation)
                failures.append(f"{os.path.basename(path)} ({type(err).__name__}: "
                                f"{_first_line(err)})")
                continue
            if failures:
                LOGGER.warning("warning: could not read %s; resumed from the previous checkpoint "
                               "%s instead", "; ".join(failures), path)
            return path
        raise EnasError(f"no checkpoint in {self.chief_directory} can be restored: "
                        f"{'; '.join(failures)}; they were written by a different configuration "
                        f"or are damaged. Use another --output_dir or --reset_output_dir")

    def save(self, number: Optional[int] = None) -> str:
        """Saves checkpoint `number` (default: one more than the saves so far, a count kept in
        the checkpoint itself, so mid-epoch and epoch-end saves number 1, 2, 3, ...);
        non-chief copies are removed right away.

        A failed save (disk full, folder read-only or gone) removes its partial files and raises
        an EnasError naming the checkpoint that is kept."""
        if number is None:
            number = int(self.checkpoint.save_counter.numpy()) + 1
        kept = self.latest
        try:
            path = self.manager.save(checkpoint_number=number)
        except (tf.errors.OpError, OSError) as err:
            self._remove_partial(number)
            raise explain_storage_error(err, os.path.dirname(self.chief_directory.rstrip("/")),
                                        kept, f"saving checkpoint {number}") from None
        if not self.is_chief:
            shutil.rmtree(self.directory, ignore_errors=True)
        return path

    def _remove_partial(self, number: int) -> None:
        """Deletes what a failed save of checkpoint `number` left (its temp folder and files);
        the index file still names the previous checkpoint."""
        prefix = os.path.join(self.directory, f"ckpt-{number}")
        _delete(glob.glob(prefix + "_temp*") + glob.glob(prefix + ".*"))


def _delete(paths) -> None:
    """Removes files and folders, ignoring those already gone (best effort: cleaning up)."""
    for path in paths:
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.remove(path)
            except OSError:
                pass
