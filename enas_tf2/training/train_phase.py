"""The Python side of a training phase and of an evaluation pass, shared by search and final
training: compiled chunks of steps, the NaN guard, log lines with throughput and ETA, TensorBoard.

A phase of `steps` steps runs as calls of ``run_chunk(n)``, each running ``n`` steps inside one
`tf.function` (at most `steps_per_loop`, and never across a log point), so the host reads the
device's running sums only once per `log_every` steps.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable, Dict, Optional, Sequence

from enas_tf2.errors import EnasError
from enas_tf2.tasks.base import TaskMetrics
from enas_tf2.runs.resume_point import ResumePoint
from enas_tf2.training.run_log import RateMeter, RunLog, format_duration
from enas_tf2.training.step_metrics import StepMetrics


@dataclasses.dataclass
class PhaseSpec:
    """Where a phase sits in the run and how it reports."""
    epoch: int
    num_epochs: int
    steps: int
    steps_per_loop: int
    log_every: int
    examples_per_step: int
    output_dir: str
    tag: str = "child"


def train_phase(run_chunk: Callable[[int], None], metrics: StepMetrics, spec: PhaseSpec, *,
                log: RunLog, task_metrics: TaskMetrics, global_step: Callable[[], int],
                lr_fn: Callable[[], float], resume: ResumePoint,
                after_chunk: Optional[Callable[[int], object]] = None,
                loss_terms: Callable[[], Sequence[str]] = tuple) -> Dict[str, float]:
    """Runs the epoch's `spec.steps` steps from ``resume.epoch_step`` on (a resumed epoch
    continues where its checkpoint stood) and returns the epoch's mean loss and metric and its
    throughput. `after_chunk(n)` runs after every compiled chunk of ``n`` steps, once the
    position and totals in `resume` are up to date (the mid-epoch checkpoint hook).
    `loss_terms()` (the task's, known once its loss is traced) names what the logged loss holds:
    said once per run, before the first loss line, when it is more than the cross-entropy.

    A non-finite loss stops the run with an `EnasError` BEFORE anything is saved, so the last good
    checkpoint stays.
    """
    start = resume.steps_done
    meter = RateMeter(spec.steps, start)
    unit, name, tag = task_metrics.unit, task_metrics.train_metric, spec.tag
    done = start
    while done < spec.steps:
        n = min(spec.steps_per_loop, spec.steps - done, spec.log_every - done % spec.log_every)
        run_chunk(n)
        done += n
        resume.epoch_step.assign(done)
        meter.update(n, n * spec.examples_per_step)
        if done % spec.log_every and done != spec.steps:
            log.bar(f"epoch {spec.epoch + 1} {tag} {done}/{spec.steps} "
                    f"{meter.examples_per_s:.0f} {unit}/s")
        else:
            terms = list(loss_terms())
            if len(terms) > 1:
                log.once(f"{tag} loss terms", f"the logged {tag} loss is {' + '.join(terms)}")
            _log_interval(metrics.read_and_reset(), spec, done, log, meter, task_metrics,
                          global_step, lr_fn, resume)
        if after_chunk is not None:
            after_chunk(n)
    totals = resume.read_totals()
    steps = max(totals["steps"], 1.0)
    return {f"{tag}_loss": totals["loss"] / steps, f"{tag}_{name}": totals["metric"] / steps,
            f"{unit}_per_s": round(meter.examples_per_s, 1),
            "clip_rate": round(totals["clipped"] / steps, 4)}


def _log_interval(m: Dict[str, float], spec: PhaseSpec, done: int, log: RunLog,
                  meter: RateMeter, task_metrics: TaskMetrics, global_step, lr_fn,
                  resume: ResumePoint) -> None:
    """The NaN guard, the log line and TensorBoard scalars of one log interval; adds its means
    to the epoch's totals."""
    unit, name, tag = task_metrics.unit, task_metrics.train_metric, spec.tag
    if not math.isfinite(m["loss"]):
        raise EnasError(
            f"{tag} loss is {m['loss']} at epoch {spec.epoch + 1} (steps {done - int(m['steps']) + 1}"
            f"-{done}); stopped. The last good checkpoint in {spec.output_dir}/ckpt is kept. "
            f"Try a lower --child_lr_max or --child_grad_bound")
    resume.add_totals(m["loss"], m["metric"], m["steps"], m["clipped"])
    lr = lr_fn()
    log.info(f"epoch {spec.epoch + 1}/{spec.num_epochs} step {done}/{spec.steps} "
             f"loss {m['loss']:.4f} {name} {m['metric']:.4f} lr {lr:.5f} "
             f"|g| {m['grad_norm']:.3f} {meter.examples_per_s:.0f} {unit}/s "
             f"epoch ETA {format_duration(meter.eta_s or 0)}")
    log.scalars(global_step(), {"loss": m["loss"], name: m["metric"], "lr": lr,
                                "grad_norm": m["grad_norm"]}, f"{tag}/")


def evaluate_split(dist_dataset, eval_fn: Callable[[int, object], dict], score_fn,
                   max_batches: int = 0) -> Optional[float]:
    """The task's score over a whole distributed split: statistics from ``eval_fn(i, batch)``
    are summed over every batch first, then scored once (no mean of per-batch scores)."""
    totals: Dict[str, float] = {}
    for i, batch in enumerate(dist_dataset):
        if max_batches and i >= max_batches:
            break
        for key, value in eval_fn(i, batch).items():
            totals[key] = totals.get(key, 0.0) + float(value)
    return score_fn(totals) if totals else None
