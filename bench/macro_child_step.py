"""Benchmark: train step of the weight-shared MacroChild vs a static Keras model of the same arch.

Defaults are the macro search settings (`cifar10_macro_search.sh`): 5 random macro archs
(`MacroArch.random(12, seed, skip_prob=0.4)`), batch 64, 32x32x3 input, 12 layers, 36 filters.
Both models run the same train step as `bench/child_step.py` (softmax CE + l2_reg * l2_loss,
global-norm clip 5, SGD momentum 0.9 Nesterov, optimizer slots built before tracing) inside
`tf.function`; the static model is `bench/static_macro.py`'s `StaticMacroModel`.

Measured in ONE process, interleaved: per round and arch, ``--steps`` shared steps then
``--steps`` static steps (the order alternates between rounds); the ratio is taken per (round,
arch) from medians and ``ratio_median`` is the median of those ratios (``cpu_ratio_median`` the
same from process CPU time, which depends less on other jobs). First-step time = trace + first
run. Peak RSS of the shared child is read before any static model exists; the static model's
comes from a subprocess that builds and trains one static model only.

    python bench/macro_child_step.py          # prints a table, then the RESULT line last
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# See bench/child_step.py: this CPU gets oneDNN kernels only when asked; both models use them.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

import tensorflow as tf  # noqa: E402
import keras  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from child_step import (_rss_mb, _shape_argv, _timed_both, make_train_step,  # noqa: E402
                        ops_keys, ops_line)
from measure import (COUNT_FLAG, add_load_flags, count_node_visits, load_text,  # noqa: E402
                     run_marked_steps, wait_for_quiet_machine)
from static_macro import StaticMacroModel  # noqa: E402

from enas_tf2.layers import branch_switch  # noqa: E402
from enas_tf2.search_space.macro import skip_sum  # noqa: E402
from enas_tf2.search_space.macro.arch import MacroArch  # noqa: E402
from enas_tf2.search_space.macro.child import MacroChild  # noqa: E402


def _static_rss_subprocess(args) -> float:
    """Peak RSS (MB) of a process that builds and trains one static model (no shared child)."""
    cmd = [sys.executable, os.path.abspath(__file__), "--static_rss_only"] + _shape_argv(args)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return float(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10, help="timed steps per arch and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--filters", type=int, default=36)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--static_rss_only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no_rss", action="store_true", help="skip the static RSS subprocess")
    parser.add_argument("--no_ops", action="store_true",
                        help="skip counting the ops executed per step (a logging subprocess)")
    parser.add_argument(COUNT_FLAG, action="store_true", help=argparse.SUPPRESS)
    add_load_flags(parser)
    args = parser.parse_args()

    tf.random.set_seed(args.seed)
    keras.utils.set_random_seed(args.seed)
    images = tf.random.normal([args.batch, args.size, args.size, 3], seed=args.seed)
    labels = tf.random.uniform([args.batch], 0, 10, tf.int32, seed=args.seed)
    archs = [MacroArch.random(args.layers, args.seed + i, skip_prob=0.4)
             for i in range(args.archs)]
    arch_tensors = [tf.constant(a.to_array()) for a in archs]
    shape = (None, args.size, args.size, 3)

    if args.static_rss_only:
        model = StaticMacroModel(archs[0], out_filters=args.filters)
        model.build(shape)
        step = make_train_step(model, False, [0])
        for _ in range(3):
            step(images, labels, arch_tensors[0]).numpy()
        print(_rss_mb())
        return

    if not args.count_nodes_only:
        load_start = wait_for_quiet_machine(args.max_wait_min, args.quiet_load)
    child = MacroChild(num_layers=args.layers, out_filters=args.filters, num_classes=10,
                       keep_prob=0.9)
    child.build(shape)
    traces = [0]
    shared_step = make_train_step(child, True, traces)
    if args.count_nodes_only:
        model = StaticMacroModel(archs[0], out_filters=args.filters)
        model.build(shape)
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
        model = StaticMacroModel(arch, out_filters=args.filters)
        model.build(shape)
        step = make_train_step(model, False, [0])
        wall, cpu = _timed_both(step, images, labels, arch_tensor)
        static_first.append(wall)
        static_first_cpu.append(cpu)
        step(images, labels, arch_tensor).numpy()
        statics.append(step)
        static_vars = len(model.trainable_variables)

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
    print(f"{'round':>5} {'arch':>4} {'shared_s':>9} {'static_s':>9} {'ratio':>6} "
          f"{'shared_cpu':>10} {'static_cpu':>10} {'cpu_ratio':>9} {'load':>5}")
    for rnd, i, shared, static, ratio, cpu_ratio, load in rows:
        print(f"{rnd:>5} {i:>4} {shared[0]:>9.3f} {static[0]:>9.3f} {ratio:>6.2f} "
              f"{shared[1]:>10.3f} {static[1]:>10.3f} {cpu_ratio:>9.2f} {load:>5.1f}")
    print(f"median ratio: wall {statistics.median(ratios):.3f}, "
          f"cpu {statistics.median(cpu_ratios):.3f}")
    print(f"shared: first step {first_step_s:.1f} s ({first_step_cpu:.1f} CPU-s), traces "
          f"{traces[0]}, branch/skip-sum function traces "
          f"{sorted(set(branch_switch.trace_counts().values()))}/{skip_sum.trace_counts()}, "
          f"peak RSS {rss_mb:.0f} MB, {len(child.trainable_variables)} variables")
    print(f"static: first step median {statistics.median(static_first):.1f} s "
          f"({statistics.median(static_first_cpu):.1f} CPU-s; all "
          f"{', '.join(f'{t:.1f}' for t in static_first)}), peak RSS "
          f"{'n/a' if static_rss is None else f'{static_rss:.0f} MB'}, {static_vars} variables")
    if ops is not None:
        print(ops_line(ops))
    print(f"archs: {', '.join(f'{a.skip_count()} skips' for a in archs)}; load average at end: "
          f"{load_text()}; "
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
    main()
