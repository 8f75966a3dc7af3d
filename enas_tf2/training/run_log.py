"""What a run tells people and tools: console lines, `progress.jsonl`, `archs.jsonl`, TensorBoard.

Only the chief writes files. `progress.jsonl` holds one JSON object per finished epoch, numbered from
1 as in the log lines; on resume, lines of epochs that will be run again (written after the
restored checkpoint) are dropped from it and from `archs.jsonl` (atomically), so each epoch appears
exactly once however often the run was killed.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Optional

import tensorflow as tf

from enas_tf2.json_file import (jsonable as _jsonable, read_jsonl, write_json,  # noqa: F401  (re-exported)
                                 write_jsonl)


# Our progress lines go through this logger; the CLIs give it a handler (`cli/entry.py`). It is kept
# apart from absl's logger so that TensorFlow's own INFO chatter can stay silenced.
LOGGER = logging.getLogger("enas_tf2")


def format_duration(seconds: float) -> str:
    """`3h05m`, `4m12s`, `9s`."""
    seconds = int(max(0, seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


class RunLog:
    """Console progress, JSON-lines records and TensorBoard scalars of one run.

    Args:
      output_dir: the run folder.
      is_chief: non-chief workers log to the console only.
      resume_epoch: epochs already completed (restored from the checkpoint); progress rows of
        later epochs are dropped.
      archs_rows: rows ``archs.jsonl`` had when the restored checkpoint was written (None: not
        known; then rows of later epochs and derive rows are dropped).
    """

    def __init__(self, output_dir: str, is_chief: bool = True, resume_epoch: int = 0,
                 archs_rows: Optional[int] = None):
        self.output_dir = output_dir
        self.is_chief = is_chief
        self.progress_path = os.path.join(output_dir, "progress.jsonl")
        self.archs_path = os.path.join(output_dir, "archs.jsonl")
        self._writer = None
        self._tty = sys.stderr.isatty()
        self.archs_rows = 0          # rows in archs.jsonl (saved with each checkpoint)
        self._said = set()           # keys of `once` lines already logged
        if is_chief:
            # Rows written after the restored checkpoint are written again by the resumed run:
            # epochs past it, and the derive rows (derive runs again at the end).
            write_jsonl(self.progress_path, [r for r in read_jsonl(self.progress_path)
                                             if r.get("epoch", 0) <= resume_epoch])
            rows = read_jsonl(self.archs_path)
            if archs_rows is not None:
                rows = rows[:archs_rows]
            else:
                rows = [r for r in rows if r.get("epoch", 0) <= resume_epoch
                        and not str(r.get("kind", "")).startswith("derive")]
            if os.path.exists(self.archs_path):
                write_jsonl(self.archs_path, rows)
            self.archs_rows = len(rows)
            self._writer = tf.summary.create_file_writer(os.path.join(output_dir, "tensorboard"))

    def info(self, message: str) -> None:
        """A line for the person watching (absl log, so it carries a timestamp)."""
        if self._tty:
            sys.stderr.write("\r\033[K")  # clear a progress bar drawn on this line
        LOGGER.info(message)

    def once(self, key: str, message: str) -> None:
        """`info(message)` the first time `key` is given in this run (e.g. what the loss holds)."""
        if key not in self._said:
            self._said.add(key)
            self.info(message)

    def bar(self, text: str) -> None:
        """Redraws a one-line progress bar when stderr is a terminal (no-op otherwise)."""
        if self._tty:
            sys.stderr.write("\r\033[K" + text[:160])
            sys.stderr.flush()

    def epoch(self, record: dict) -> None:
        """Appends one finished epoch to `progress.jsonl`."""
        if self.is_chief:
            with open(self.progress_path, "a") as f:
                f.write(json.dumps(record, default=_jsonable) + "\n")

    def archs(self, records: list) -> None:
        """Appends evaluated architectures (with their rewards) to `archs.jsonl`."""
        self.archs_rows += len(records)
        if self.is_chief and records:
            with open(self.archs_path, "a") as f:
                f.writelines(json.dumps(r, default=_jsonable) + "\n" for r in records)

    def scalars(self, step: int, values: dict, prefix: str = "") -> None:
        """TensorBoard scalars (chief only)."""
        if self._writer is None:
            return
        with self._writer.as_default(step=int(step)):
            for key, value in values.items():
                if value is not None:
                    tf.summary.scalar(prefix + key, float(value))

    def arch_image(self, arch, step: int, name: str = "arch/best_so_far") -> None:
        """The picture of `arch` as a TensorBoard image (chief only). A drawing problem is
        logged, never fatal: a picture must not end a long run."""
        if self._writer is None:
            return
        from enas_tf2.render.tensorboard import write_arch_image
        try:
            write_arch_image(self._writer, arch, step, name=name)
        except Exception as err:  # pylint: disable=broad-except
            LOGGER.warning("warning: could not draw the architecture for TensorBoard: %s", err)

    def flush(self) -> None:
        if self._writer is not None:
            self._writer.flush()


class RateMeter:
    """Examples/s (the task's unit: images or tokens) and ETA over a window of steps."""

    def __init__(self, total_steps: int, done_steps: int = 0):
        self.total = total_steps
        self.done = done_steps
        self.start = time.time()
        self.start_done = done_steps
        self.examples = 0

    def update(self, steps: int, examples: int) -> None:
        """Counts `steps` more steps that processed `examples` examples."""
        self.done += steps
        self.examples += examples

    @property
    def examples_per_s(self) -> float:
        """Throughput since the meter started."""
        return self.examples / max(1e-9, time.time() - self.start)

    @property
    def eta_s(self) -> Optional[float]:
        ran = self.done - self.start_done
        if ran <= 0:
            return None
        return (time.time() - self.start) / ran * (self.total - self.done)
