"""The outer epoch loop shared by search and final training (orbit's Controller shape).

Resume point, one record per epoch (console line, TensorBoard, `progress.jsonl`), one checkpoint
per epoch (plus the mid-epoch ones of `resume_point.IntervalSaver`) and a flush; the phases of an
epoch are the caller's `run_epoch`.
"""

from __future__ import annotations

import time
from typing import Callable, Dict

from enas_tf2.runs.resume_point import IntervalSaver
from enas_tf2.training.run_log import RunLog


def format_record(record: Dict) -> str:
    """``key value`` pairs of an epoch record, floats to 5 significant digits (``loss 2.3026``,
    ``img_per_s 174.7``, ``seconds 7``; nested values such as the op histogram go to
    `progress.jsonl` only)."""
    return ", ".join(f"{k} {v:.5g}" if isinstance(v, float) else f"{k} {v}"
                     for k, v in record.items() if k != "epoch" and not isinstance(v, dict))


def run_epochs(run_epoch: Callable[[int], Dict], *, epoch_var, num_epochs: int,
               saver: IntervalSaver, log: RunLog, extra: Callable[[], Dict],
               eval_keys=()) -> int:
    """Runs epochs from ``epoch_var`` up to `num_epochs`; returns the epoch reached.

    `run_epoch(epoch)` (0-based index) returns the epoch's record, continuing a partly done epoch
    from the saver's resume point (mid-epoch checkpoints); `extra()` adds counters read after it
    (step, baseline). The record's ``epoch`` is the epoch's NUMBER, counted from 1 as in every
    log line ("epoch 3/10 done" is the row with ``"epoch": 3``). Each epoch ends with
    `saver.epoch_end()`.
    """
    epoch = int(epoch_var.numpy())
    while epoch < num_epochs:
        start = time.time()
        record = {"epoch": epoch + 1}
        record.update(run_epoch(epoch))
        epoch += 1
        epoch_var.assign(epoch)
        record.update(extra())
        record["seconds"] = round(time.time() - start, 2)
        log.info(f"epoch {epoch}/{num_epochs} done: {format_record(record)}")
        log.scalars(int(record.get("step", epoch)), {k: record.get(k) for k in eval_keys},
                    "eval/")
        log.epoch(record)
        saver.epoch_end()
        log.flush()
    return epoch
