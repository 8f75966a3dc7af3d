"""Benchmark: train step of the weight-shared MicroChild vs a static Keras model of the same arch.

Defaults are the search settings of the issue: 5 random micro archs, batch 64, 32x32x3 input,
6 layers (8 cells), 20 filters, 5 nodes per cell. Both models run the same train step (softmax CE
+ l2_reg * l2_loss, global-norm clip 5, SGD momentum 0.9 Nesterov) inside `tf.function`.

Measured in ONE process, interleaved (the machine drifts about +-10 % between rounds and other
engineers share the 2 cores): per round and arch, ``--steps`` shared steps then ``--steps`` static
steps (the order alternates between rounds). The ratio is taken per (round, arch) from medians and
``ratio_median`` is the median of those ratios; the same from process CPU time (which depends less
on the other jobs) is ``cpu_ratio_median``. First-step time = trace + first run, each model in a
fresh process (``--warm_first_step``: in this process, shared child first). Peak RSS of the
shared child is read before any static model exists; the static model's peak RSS comes from a
subprocess that builds and trains one static model only. See bench/README.md for results.

    python bench/child_step.py            # prints a table, then the RESULT line last
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# TF enables its oneDNN kernels by default only on CPUs with AVX-512 class features; this machine
# (AVX2/FMA) gets the plain Eigen kernels, 2-5x slower for depthwise/pointwise convs, BN and
# pools (measured, bench/README.md). Both models use the same setting; override with the env var.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from measure import (COUNT_FLAG, add_load_flags, count_node_visits, load_text,  # noqa: E402
                     run_marked_steps, wait_for_quiet_machine)
from static_micro import StaticMicroModel  # noqa: E402

from enas_tf2.search_space.micro.arch import MicroArch  # noqa: E402
from enas_tf2.search_space.micro.child import MicroChild  # noqa: E402

L2_REG = 1e-4
GRAD_BOUND = 5.0


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def make_train_step(model, uses_arch: bool, counter: list):
    """A tf.function train step for `model`; `counter[0]` counts Python traces."""
    optimizer = keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True)
    variables = model.trainable_variables
    # Create the momentum slots now: variables created during the first trace make tf.function
    # trace the whole step a second time.
    optimizer.build(variables)

    def l2_loss():
        if hasattr(model, "l2_loss"):
            return model.l2_loss()
        return tf.add_n([tf.reduce_sum(tf.square(v)) for v in variables])

    @tf.function
    def step(images, labels, arch):
        counter[0] += 1
        with tf.GradientTape() as tape:
            logits = model(images, arch, training=True) if uses_arch else model(
                images, training=True)
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))
            loss += L2_REG * l2_loss()
        grads = tape.gradient(loss, variables)
        grads, _ = tf.clip_by_global_norm(grads, GRAD_BOUND)
        optimizer.apply_gradients(zip(grads, variables))
        return loss

    return step


def _timed_both(fn, *args):
    """(wall seconds, process CPU seconds) of one call; CPU time depends less on other jobs."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn(*args).numpy()
    return time.perf_counter() - wall, time.process_time() - cpu


def _shape_argv(args):
    """The command-line flags that shape the models (for the subprocesses)."""
    return [f"--{k}={v}" for k, v in vars(args).items()
            if k not in ("static_rss_only", "no_rss", "no_ops", "max_wait_min", "quiet_load",
                         "count_nodes_only", "first_step_only", "warm_first_step")]


def ops_line(ops) -> str:
    """One line on the executor's work per step, shared vs static (`count_node_visits`)."""
    shared, static = ops["shared"], ops["static"]
    return (f"ops executed per step (arch 0, executor log): shared {shared['live']}, static "
            f"{static['live']}, ratio {shared['live'] / static['live']:.3f}; nodes visited "
            f"incl. untaken branches: shared {shared['nodes']}, static {static['nodes']}, "
            f"ratio {shared['nodes'] / static['nodes']:.3f}")


def ops_keys(ops) -> dict:
    """The op-count keys of a RESULT line (None when not counted)."""
    if ops is None:
        return {"ops_per_step": None, "static_ops_per_step": None, "nodes_per_step": None,
                "static_nodes_per_step": None}
    return {"ops_per_step": ops["shared"]["live"], "static_ops_per_step": ops["static"]["live"],
            "nodes_per_step": ops["shared"]["nodes"],
            "static_nodes_per_step": ops["static"]["nodes"]}


def _static_rss_subprocess(args) -> float:
    """Peak RSS (MB) of a process that builds and trains one static model (no shared child)."""
    cmd = [sys.executable, os.path.abspath(__file__), "--static_rss_only"] + _shape_argv(args)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return float(out.strip().splitlines()[-1])


def _fresh_first_step(args, which: str) -> tuple:
    """(wall, CPU) seconds of trace + first step of ``which`` ("shared" or a static arch index)
    in a fresh process. In one process, whichever model runs first also pays the process's
    one-time costs (oneDNN generating its kernels for these shapes, thread pools), so the
    first step of the shared child, timed first, looked slower than the static models' after
    it (bench/README.md, issue 23)."""
    cmd = [sys.executable, os.path.abspath(__file__), f"--first_step_only={which}"]
    out = subprocess.run(cmd + _shape_argv(args), capture_output=True, text=True,
                         check=True).stdout
    wall, cpu = out.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10, help="timed steps per arch and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--filters", type=int, default=20)
    parser.add_argument("--cells", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--static_rss_only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no_rss", action="store_true", help="skip the static RSS subprocess")
    parser.add_argument("--first_step_only", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--warm_first_step", action="store_true",
                        help="time first steps in this process (the shared child first, so it "
                             "also pays the process's one-time costs) instead of each in a "
                             "fresh process")
    parser.add_argument("--inter_op", type=int, default=0, help="TF inter-op threads (0: TF's)")
    parser.add_argument("--intra_op", type=int, default=0, help="TF intra-op threads (0: TF's)")
    parser.add_argument("--no_ops", action="store_true",
                        help="skip counting the ops executed per step (a logging subprocess)")
    parser.add_argument(COUNT_FLAG, action="store_true", help=argparse.SUPPRESS)
    add_load_flags(parser)
    args = parser.parse_args()
    if args.inter_op:
        tf.config.threading.set_inter_op_parallelism_threads(args.inter_op)
    if args.intra_op:
        tf.config.threading.set_intra_op_parallelism_threads(args.intra_op)

    tf.random.set_seed(args.seed)
    keras.utils.set_random_seed(args.seed)
    images = tf.random.normal([args.batch, args.size, args.size, 3], seed=args.seed)
    labels = tf.random.uniform([args.batch], 0, 10, tf.int32, seed=args.seed)
    archs = [MicroArch.random(args.cells, args.seed + i) for i in range(args.archs)]
    arch_tensors = [tf.constant(a.to_array()) for a in archs]
    shape_kw = dict(num_layers=args.layers, out_filters=args.filters)

    if args.static_rss_only:
        model = StaticMicroModel(archs[0], **shape_kw)
        model.build((None, args.size, args.size, 3))
        step = make_train_step(model, False, [0])
        for _ in range(3):
            step(images, labels, arch_tensors[0]).numpy()
        print(_rss_mb())
        return

    if args.first_step_only is not None:
        if args.first_step_only == "shared":
            model = MicroChild(num_cells=args.cells, num_classes=10, keep_prob=0.9, **shape_kw)
            arch_tensor = arch_tensors[0]
        else:
            arch_tensor = arch_tensors[int(args.first_step_only)]
            model = StaticMicroModel(archs[int(args.first_step_only)], **shape_kw)
        model.build((None, args.size, args.size, 3))
        step = make_train_step(model, args.first_step_only == "shared", [0])
        print(*_timed_both(step, images, labels, arch_tensor))
        return

    if not args.count_nodes_only:
        load_start = wait_for_quiet_machine(args.max_wait_min, args.quiet_load)
    child = MicroChild(num_cells=args.cells, num_classes=10, keep_prob=0.9, **shape_kw)
    child.build((None, args.size, args.size, 3))
    traces = [0]
    shared_step = make_train_step(child, True, traces)
    if args.count_nodes_only:
        model = StaticMicroModel(archs[0], **shape_kw)
        model.build((None, args.size, args.size, 3))
        static_step = make_train_step(model, False, [0])
        run_marked_steps({name: (lambda fn=fn: fn(images, labels, arch_tensors[0]))
                          for name, fn in (("shared", shared_step), ("static", static_step))})
        return
    first_step_s, first_step_cpu = _timed_both(shared_step, images, labels, arch_tensors[0])
    for arch in arch_tensors:            # warm-up: one step per arch
        shared_step(images, labels, arch).numpy()
    rss_mb = _rss_mb()

    statics, static_first, static_first_cpu = [], [], []
    for arch, arch_tensor in zip(archs, arch_tensors):
        model = StaticMicroModel(arch, **shape_kw)
        model.build((None, args.size, args.size, 3))
        step = make_train_step(model, False, [0])
        wall, cpu = _timed_both(step, images, labels, arch_tensor)
        static_first.append(wall)
        static_first_cpu.append(cpu)
        step(images, labels, arch_tensor).numpy()
        statics.append(step)
        statics_vars = model.trainable_variables

    rows, ratios, cpu_ratios = [], [], []
    for rnd in range(args.rounds):
        for i, arch_tensor in enumerate(arch_tensors):
            runs = {}
            order = ("shared", "static") if (rnd + i) % 2 == 0 else ("static", "shared")
            for name in order:
                fn = shared_step if name == "shared" else statics[i]
                times = [_timed_both(fn, images, labels, arch_tensor) for _ in range(args.steps)]
                runs[name] = (statistics.median(t[0] for t in times),
                              statistics.median(t[1] for t in times))
            ratios.append(runs["shared"][0] / runs["static"][0])
            cpu_ratios.append(runs["shared"][1] / runs["static"][1])
            rows.append((rnd, i, runs["shared"], runs["static"], ratios[-1], cpu_ratios[-1],
                         os.getloadavg()[0]))

    # Ops executed per step (arch 0), in a subprocess after the timing.
    ops = None if args.no_ops else count_node_visits(os.path.abspath(__file__), _shape_argv(args))
    static_rss = None if args.no_rss else _static_rss_subprocess(args)
    first_where = "in this process, shared child first"
    if not args.warm_first_step:
        first_where = "each in a fresh process"
        shared_fresh = sorted(_fresh_first_step(args, "shared") for _ in range(3))
        first_step_s, first_step_cpu = shared_fresh[1]     # the median of three
        fresh = [_fresh_first_step(args, str(i)) for i in range(len(archs))]
        static_first, static_first_cpu = [f[0] for f in fresh], [f[1] for f in fresh]
    print(f"{'round':>5} {'arch':>4} {'shared_s':>9} {'static_s':>9} {'ratio':>6} "
          f"{'shared_cpu':>10} {'static_cpu':>10} {'cpu_ratio':>9} {'load':>5}")
    for rnd, i, shared, static, ratio, cpu_ratio, load in rows:
        print(f"{rnd:>5} {i:>4} {shared[0]:>9.3f} {static[0]:>9.3f} {ratio:>6.2f} "
              f"{shared[1]:>10.3f} {static[1]:>10.3f} {cpu_ratio:>9.2f} {load:>5.1f}")
    print(f"median ratio: wall {statistics.median(ratios):.3f}, "
          f"cpu {statistics.median(cpu_ratios):.3f}")
    print(f"first steps (trace + first run): {first_where}")
    print(f"shared: first step {first_step_s:.1f} s ({first_step_cpu:.1f} CPU-s"
          + ("" if args.warm_first_step else
             f"; median of {', '.join(f'{t[0]:.1f}' for t in shared_fresh)}")
          + f"), traces "
          f"{traces[0]}, peak RSS {rss_mb:.0f} MB, {len(child.trainable_variables)} variables")
    print(f"static: first step median {statistics.median(static_first):.1f} s "
          f"({statistics.median(static_first_cpu):.1f} CPU-s; all "
          f"{', '.join(f'{t:.1f}' for t in static_first)}), peak RSS "
          f"{'n/a' if static_rss is None else f'{static_rss:.0f} MB'}, "
          f"{len(statics_vars)} variables")
    if ops is not None:
        print(ops_line(ops))
    print(f"load average at end: {load_text()}; "
          f"TF_ENABLE_ONEDNN_OPTS={os.environ.get('TF_ENABLE_ONEDNN_OPTS')}")
    result = {"ratio_median": round(statistics.median(ratios), 3),
              "cpu_ratio_median": round(statistics.median(cpu_ratios), 3),
              "first_step_s": round(first_step_s, 1),
              "static_first_step_s": round(statistics.median(static_first), 1),
              "traces": traces[0], "rss_mb": round(rss_mb), "static_rss_mb":
              None if static_rss is None else round(static_rss),
              "load_start": load_start,
              **ops_keys(ops)}
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
