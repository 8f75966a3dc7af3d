"""The pre-flight: peak memory, seconds per step of each kind, projected epoch and run times.

Run by every search and final training once its models are built (before the first epoch) and by
``--dry_run`` (which then stops). In order:

1. memory: `memory_probe` fits the step's peak resident memory against the batch size at two
   small batches and projects it to the run's batch. A projection above what the machine has
   (`host_memory.memory_limit`) refuses the run with the figures and the largest batch size that
   fits, unless ``--force``: the run never reaches the step that would be killed;
2. speed: a few steps of every kind the run performs are timed at the real batch (child training
   steps, controller samples and updates, evaluation batches, architecture scoring; final
   training: training steps and evaluation batches). The first call of each compiles it, as the
   run would have to anyway, so the run reuses those traces. All state is restored afterwards
   (weights, optimizer slots, counters, baseline): the pre-flight does not change the run;
3. the projection: each kind's seconds times how often an epoch (and the whole remaining run,
   derive or the final test included) performs it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import tempfile
import time
from typing import Callable, List, Optional

import tensorflow as tf

from enas_tf2.errors import EnasError
from enas_tf2.data.specs import ImageSpec
from enas_tf2.runs import host_memory
from enas_tf2.runs.memory_probe import MemoryFit, probe_batches, probe_memory
from enas_tf2.training.preflight_kinds import StepKind, final_kinds, search_kinds
from enas_tf2.training.search_steps import CHILD_STREAM, seed_for
from enas_tf2.training.run_log import format_duration


def duration(seconds: float) -> str:
    """``0.8s`` under a minute, else `format_duration` (``4m12s``, ``3h05m``)."""
    return f"{seconds:.1f}s" if seconds < 60 else format_duration(seconds)


@dataclasses.dataclass
class Estimate:
    """What the pre-flight found; `lines()` is what the run prints."""
    kind: str                      # "search" | "final"
    batch_size: int
    replicas: int
    limit: Optional[int]           # bytes this process can reach (None: unknown)
    limit_source: str              # "MemAvailable", "cgroup limit" or "--memory_limit_gb"
    fit: Optional[MemoryFit]       # the small-batch memory fit (image tasks, one replica)
    measured_peak: int = 0         # resident high-water mark during the real-batch steps
    steps: List[StepKind] = dataclasses.field(default_factory=list)
    epochs_done: int = 0
    num_epochs: int = 0
    epoch_seconds: float = 0.0     # an epoch with every phase (controller, evaluation)
    run_seconds: float = 0.0       # every remaining epoch plus derive / the final test
    compile_seconds: float = 0.0
    preflight_seconds: float = 0.0 # what the pre-flight itself took
    train_examples: int = 0        # the training split's size when the task knows it (0: not)

    @property
    def projected_peak(self) -> float:
        """Bytes: the larger of the projection and what the real steps reached."""
        projected = self.fit.peak_at(self.batch_size) if self.fit else 0.0
        return max(projected, float(self.measured_peak))

    @property
    def fits(self) -> bool:
        """False when the projected peak exceeds what the machine has."""
        return self.limit is None or self.projected_peak <= self.limit

    def fitting_batch(self) -> int:
        """The largest batch size (a multiple of the replicas) projected to fit; 0 if unknown."""
        if self.fit is None or self.limit is None:
            return 0
        return self._capped(self.fit.largest_batch(self.limit, self.replicas))

    def _capped(self, batch: int) -> int:
        """`batch` no larger than the training split (a multiple of the replicas)."""
        if self.train_examples:
            batch = min(batch, self.train_examples - self.train_examples % self.replicas)
        return max(0, batch)

    def memory_line(self) -> str:
        """Peak memory against the machine's, with the probe's figures."""
        parts = [f"pre-flight ({self.kind}, batch {self.batch_size}"
                 f"{f', {self.replicas} replicas' if self.replicas > 1 else ''}): peak memory "
                 f"{host_memory.gib(self.projected_peak)}"]
        if self.fit:
            (b1, b2), (p1, p2) = self.fit.batches, self.fit.peaks
            parts.append(f" (held before: {host_memory.gib(self.fit.base)}; first step at "
                         f"batch {b1}: +{p1 / 2**20:.0f} MiB, at {b2}: "
                         f"+{p2 / 2**20:.0f} MiB -> {self.fit.per_example / 2**20:.1f} MiB per "
                         f"example)")
        if self.limit is not None:
            parts.append(f" of {host_memory.gib(self.limit)} this process can use "
                         f"({self.limit_source})")
        return "".join(parts)

    def lines(self) -> List[str]:
        """The estimate as log lines (memory, seconds per step, projections)."""
        lines = [self.memory_line()]
        if self.steps:
            per = ", ".join(f"{s.name} {s.seconds:.3f} s (x{s.per_epoch:g} "
                            f"{'at the end' if s.phase == 'end' else 'per epoch'})"
                            for s in self.steps)
            lines.append(f"pre-flight: seconds per step: {per}; compiling took "
                         f"{duration(self.compile_seconds)} (pre-flight "
                         f"{duration(self.preflight_seconds)})")
            left = max(0, self.num_epochs - self.epochs_done)
            lines.append(f"pre-flight: projected {duration(self.epoch_seconds)} per epoch, "
                         f"{duration(self.run_seconds)} for the {left} epoch(s) to run"
                         + (" and derive" if self.kind == "search" else " and the final test"))
        if not self.fits:
            lines.append(f"pre-flight: this run does not fit in memory; largest batch size that "
                         f"fits: {self.fitting_batch() or 'none'}")
        if self.train_examples and self.batch_size >= self.train_examples:
            lines.append(f"warning: batch size {self.batch_size} covers the whole training split "
                         f"({self.train_examples} examples): every step sees the same examples "
                         f"and an epoch is one step; use a smaller --batch_size")
        return lines

    def refusal(self) -> EnasError:
        """The one-line error of a run that does not fit."""
        batch = self.fitting_batch()
        advice = (f"use --batch_size={batch} or less" if batch else
                  "use a smaller --image_size or network")
        return EnasError(
            f"not enough memory: the {self.kind} at batch size {self.batch_size} needs about "
            f"{host_memory.gib(self.projected_peak)} but this process can use "
            f"{host_memory.gib(self.limit)} ({self.limit_source}); {advice} "
            f"(--force runs it anyway)")


@contextlib.contextmanager
def state_kept(checkpoint: tf.train.Checkpoint):
    """Everything `checkpoint` tracks is written to a temporary file before the block and read
    back after it, so steps run inside leave no trace in the run."""
    folder = tempfile.mkdtemp(prefix="enas_preflight_")
    try:
        path = checkpoint.write(os.path.join(folder, "state"))
        try:
            yield
        finally:
            checkpoint.read(path).expect_partial()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _probe(loop, kind: str) -> Optional[MemoryFit]:
    """The small-batch memory fit (image tasks on one replica; None otherwise)."""
    data, strategy = loop.data, loop.ctx.strategy
    if not isinstance(data.input_spec, ImageSpec) or strategy.num_replicas_in_sync != 1:
        return None
    if kind == "search":
        model, controller = loop.state.child, loop.state.controller
        seed = (tf.constant(seed_for(CHILD_STREAM, loop.run_cfg.seed, 0)),)
        random_arch = tf.constant(loop.space.random_arch(0).to_array())

        def loss(batch, step_seed):
            # As in the loop's compiled step: the controller samples the architecture inside the
            # step (this costs the child step far more memory than a given architecture does).
            arch = random_arch if loop.random else controller(seed=step_seed).arch

            def forward(*args, **kwargs):
                return model(*args, arch=arch, **kwargs)
            return loop.task.train_loss(forward, batch, variables)[0]
        extra = seed
    else:
        model, extra = loop.net, ()

        def loss(batch):
            return loop.task.train_loss(model, batch, variables)[0]
    variables = model.trainable_variables
    return probe_memory(loss, data.train.element_spec, model, variables, data.global_batch,
                        extra)


# A real training step keeps at least this many times the `ActivationFloor` (measured: micro
# search child 13.8x, macro 4.0x, probe per example against the floor at 64 px): the memory probe
# of a run is refused when this much of the floor at its probe batch cannot fit.
PROBE_SAFETY = 3
SMALLEST_PROBE = probe_batches(1)[1]


def check_floor(loop, kind: str, est: Estimate, force: bool) -> None:
    """Refuses, before the memory probe runs a single step, a run whose activations alone
    cannot fit: the space's `ActivationFloor` (a lower bound from the network's shape) times
    the run's batch, and times `PROBE_SAFETY` x the probe's own batch. A huge image size used
    to be killed by the kernel inside the probe, leaving the run folder's lock behind."""
    spec = loop.data.input_spec
    bound = loop.space.activation_floor(spec, fixed=kind == "final")
    floor = bound.bytes_per_example
    if not floor or est.limit is None or force:
        return
    held = host_memory.current_rss()
    room = est.limit - held
    if room <= 0:
        return   # nothing fits at all: the memory probe's own refusal says so with its figures
    examples = max(est.batch_size, PROBE_SAFETY * probe_batches(est.batch_size)[1])
    if floor * examples <= room:
        return
    size = f"{spec.height}x{spec.width} images: " if isinstance(spec, ImageSpec) else ""
    if floor * PROBE_SAFETY * SMALLEST_PROBE <= room:
        batch = est._capped(int(room // floor) // est.replicas * est.replicas)
        advice = f"use --batch_size={batch} or less" if batch else "use a smaller network"
    elif isinstance(spec, ImageSpec):
        scale = (room / (floor * examples)) ** 0.5   # activations grow with the image's area
        advice = (f"use --image_size={int(spec.height * scale)}x{int(spec.width * scale)} or "
                  f"smaller at this batch size")
    else:
        advice = "use a smaller network"
    raise EnasError(
        f"not enough memory for {size}one example's activations alone take at least "
        f"{host_memory.gib(floor)} ({bound.largest}), so the {kind} at batch size "
        f"{est.batch_size} needs "
        f"more than {host_memory.gib(held + floor * examples)} but this process can use "
        f"{host_memory.gib(est.limit)} ({est.limit_source}); {advice} (--force runs it anyway)")


def _epoch_total(steps: List[StepKind], epoch: int, every: Callable[[StepKind, int], bool]) -> float:
    return sum(s.seconds * s.per_epoch for s in steps if every(s, epoch))


def project(est: Estimate, run_cfg, controller_cfg=None) -> None:
    """Fills the per-epoch and whole-run projections of `est` from its step timings."""
    def active(step: StepKind, epoch: int) -> bool:
        if step.phase == "controller":
            return (epoch + 1) % max(1, controller_cfg.train_every) == 0
        if step.phase == "eval":
            return (epoch + 1) % max(1, run_cfg.eval_every_epochs) == 0 \
                or epoch + 1 == run_cfg.num_epochs
        return step.phase == "train"

    est.epoch_seconds = sum(s.seconds * s.per_epoch for s in est.steps if s.phase != "end")
    est.run_seconds = sum(_epoch_total(est.steps, e, active)
                          for e in range(est.epochs_done, run_cfg.num_epochs))
    est.run_seconds += sum(s.seconds * s.per_epoch for s in est.steps if s.phase == "end")


def run_preflight(loop, kind: str, *, force: bool, dry: bool = False,
                  epochs_done: Optional[int] = None) -> Estimate:
    """Measures memory and step times of a built `SearchLoop` / `FinalLoop` (`kind` "search" /
    "final") and returns the `Estimate`.

    A run that does not fit raises the estimate's `refusal()` before any step at the real batch
    size, unless `force` (then it is logged and timed anyway). `dry` (``--dry_run``): the state is
    throwaway (not restored) and a run that does not fit returns its memory estimate without
    timings. `epochs_done`: epochs already completed (default: the loop's epoch counter)."""
    run_cfg = loop.run_cfg
    epoch_var = loop.state.epoch if kind == "search" else loop.epoch
    limit, source = host_memory.memory_limit(int(run_cfg.memory_limit_gb * host_memory.GIB))
    est = Estimate(kind=kind, batch_size=int(loop.data.global_batch),
                   replicas=loop.ctx.strategy.num_replicas_in_sync,
                   limit=limit, limit_source=source, fit=None,
                   epochs_done=int(epoch_var.numpy()) if epochs_done is None else epochs_done,
                   num_epochs=run_cfg.num_epochs,
                   train_examples=int((loop.data.info or {}).get("counts", {}).get("train", 0)))
    start = time.time()
    check_floor(loop, kind, est, force)
    est.fit = _probe(loop, kind)
    if not est.fits:
        if dry:
            return est
        if not force:
            raise est.refusal()
        loop.log.info(f"warning: {est.refusal()}; running anyway (--force)")
    checkpoint = (loop.state.checkpoint if kind == "search" else loop.checkpoint).checkpoint
    guard = contextlib.nullcontext() if dry else state_kept(checkpoint)
    with guard:
        host_memory.reset_peak_rss()
        est.steps = search_kinds(loop) if kind == "search" else final_kinds(loop)
        est.measured_peak = host_memory.peak_rss()
    est.compile_seconds = sum(s.compile_seconds for s in est.steps)
    project(est, run_cfg, getattr(loop, "ccfg", None))
    est.preflight_seconds = time.time() - start
    return est

