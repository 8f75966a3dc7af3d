"""The Python side of one training epoch and of an evaluation pass, shared by search and final
training: step calls, NaN guard, log lines with images/s and ETA, TensorBoard scalars."""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from enas_tf2.errors import EnasError
from enas_tf2.training.run_log import RateMeter, RunLog, format_duration


def train_epoch(step_fn: Callable[[int], dict], *, step_var, steps: int, epoch: int,
                num_epochs: int, log: RunLog, log_every: int, images_per_step: int,
                lr_fn: Callable[[], float], output_dir: str, tag: str = "child") -> dict:
    """Runs `steps` calls of `step_fn(global_step)` and returns mean loss/accuracy and images/s.

    `step_fn` returns a dict with scalar tensors ``loss``, ``acc``, ``grad_norm``. `step_var` (an
    int64 variable in the checkpoint) counts global steps. A non-finite loss stops the run with an
    `EnasError` BEFORE anything is saved, so the last good checkpoint stays.
    """
    meter = RateMeter(steps)
    losses, accs = [], []
    for i in range(steps):
        step = int(step_var.numpy())
        out = step_fn(step)
        step_var.assign_add(1)
        loss = float(out["loss"])
        if not math.isfinite(loss):
            raise EnasError(f"{tag} loss is {loss} at epoch {epoch + 1} step {i + 1}; stopped. The "
                            f"last good checkpoint in {output_dir}/ckpt is kept. Try a lower "
                            f"--child_lr_max or --child_grad_bound")
        losses.append(loss)
        accs.append(float(out["acc"]))
        meter.update(1, images_per_step)
        if (i + 1) % log_every == 0 or i + 1 == steps:
            lr = lr_fn()
            grad_norm = float(out["grad_norm"])
            log.info(f"epoch {epoch + 1}/{num_epochs} step {i + 1}/{steps} "
                     f"loss {np.mean(losses[-log_every:]):.4f} "
                     f"acc {np.mean(accs[-log_every:]):.4f} lr {lr:.5f} |g| {grad_norm:.3f} "
                     f"{meter.images_per_s:.0f} img/s epoch ETA {format_duration(meter.eta_s or 0)}")
            log.scalars(step + 1, {"loss": loss, "acc": accs[-1], "lr": lr,
                                   "grad_norm": grad_norm}, f"{tag}/")
        else:
            log.bar(f"epoch {epoch + 1} {tag} {i + 1}/{steps} loss {loss:.3f} "
                    f"{meter.images_per_s:.0f} img/s")
    return {f"{tag}_loss": float(np.mean(losses)), f"{tag}_acc": float(np.mean(accs)),
            "images_per_s": round(meter.images_per_s, 1)}


def accuracy(dist_dataset, eval_fn: Callable[[int, object], tuple], max_batches: int = 0) -> float:
    """Accuracy over a distributed dataset; `eval_fn(i, batch)` returns (correct, count)."""
    correct = total = 0.0
    for i, batch in enumerate(dist_dataset):
        if max_batches and i >= max_batches:
            break
        c, n = eval_fn(i, batch)
        correct += float(c)
        total += float(n)
    return correct / max(total, 1.0)
