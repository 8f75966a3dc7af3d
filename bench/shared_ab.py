"""A/B of shared-micro-step variants against one static model, interleaved in one process.

Each variant is a weight-shared `MicroChild` train step traced under a switch of the code (e.g.
`branch_switch.SPLIT_BACKWARD`); all variants and the static model of the same architecture run
the same train step as `child_step.py`, round-robin, ``--steps`` steps each per round, the order
rotating between rounds. Per variant: median wall and CPU seconds, their ratios to the static
model (per round, then the median), and kernels executed per step (TF profiler). This is how the
changes of issue 23 were measured one at a time (bench/README.md, "Shared-step overhead").

    python bench/shared_ab.py --variants joined_lowered,split_lowered,split_merge --rounds 6
    python bench/shared_ab.py --variants split_lowered,split_lowered#2 --rounds 6   # A/A control
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

import tensorflow as tf  # noqa: E402
import keras  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from child_step import _timed_both, make_train_step  # noqa: E402
from measure import (COUNT_FLAG, add_load_flags, count_node_visits, load_text,  # noqa: E402
                     run_marked_steps, wait_for_quiet_machine)
from static_micro import StaticMicroModel  # noqa: E402

from enas_tf2.layers import branch_switch  # noqa: E402
from enas_tf2.search_space.micro import shared_cell  # noqa: E402
from enas_tf2.search_space.micro.arch import MicroArch  # noqa: E402
from enas_tf2.search_space.micro.child import MicroChild  # noqa: E402

# name -> {module attribute: value} set while that variant is traced.
_SPLIT, _LOWER = (branch_switch, "SPLIT_BACKWARD"), (branch_switch, "LOWER_SWITCH")
_MERGE = (shared_cell, "MERGE_READS")
VARIANTS = {
    "joined_lowered": {_SPLIT: False, _LOWER: True, _MERGE: False},   # before issue 23
    "split_lowered": {_SPLIT: True, _LOWER: True, _MERGE: False},     # issue 23 default
    "split": {_SPLIT: True, _LOWER: False, _MERGE: False},
    "joined": {_SPLIT: False, _LOWER: False, _MERGE: False},
    "split_merge": {_SPLIT: True, _LOWER: True, _MERGE: True},        # experimental
}


def _traced(variant, build, images, labels, arch):
    """Builds and traces a step with the variant's switches set, then restores them.

    ``variant`` may carry a suffix, ``split_lowered#2``: the same switches again, an A/A
    control. Every variant gets freshly traced slot functions: `branch_switch` caches them per
    table key, so without the reset two variants could run the very same functions.
    """
    switches = VARIANTS[variant.split("#")[0]]
    saved = {key: getattr(*key) for key in switches}
    for (module, name), value in switches.items():
        setattr(module, name, value)
    branch_switch._TABLES.clear()
    try:
        step = build()
        step(images, labels, arch).numpy()
    finally:
        for (module, name), value in saved.items():
            setattr(module, name, value)
    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="joined_lowered,split_lowered,split")
    parser.add_argument("--no_ops", action="store_true", help="skip the node-count subprocess")
    parser.add_argument(COUNT_FLAG, action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--arch", type=int, default=0)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--inter_op", type=int, default=0)
    parser.add_argument("--intra_op", type=int, default=0)
    add_load_flags(parser)
    args = parser.parse_args()
    if args.inter_op:
        tf.config.threading.set_inter_op_parallelism_threads(args.inter_op)
    if args.intra_op:
        tf.config.threading.set_intra_op_parallelism_threads(args.intra_op)
    load_start = None if args.count_nodes_only else wait_for_quiet_machine(
        args.max_wait_min, args.quiet_load)

    keras.utils.set_random_seed(0)
    images = tf.random.normal([args.batch, args.size, args.size, 3], seed=0)
    labels = tf.random.uniform([args.batch], 0, 10, tf.int32, seed=0)
    arch = MicroArch.random(5, args.arch)
    arch_tensor = tf.constant(arch.to_array())
    shape = (None, args.size, args.size, 3)
    steps = {}
    for variant in args.variants.split(","):
        child = MicroChild(num_layers=6, num_cells=5, out_filters=20, num_classes=10,
                           keep_prob=0.9)
        child.build(shape)
        steps[variant] = _traced(variant, lambda c=child: make_train_step(c, True, [0]),
                                 images, labels, arch_tensor)
    static = StaticMicroModel(arch, num_layers=6, out_filters=20)
    static.build(shape)
    steps["static"] = make_train_step(static, False, [0])
    steps["static"](images, labels, arch_tensor).numpy()

    names = list(steps)
    if args.count_nodes_only:
        run_marked_steps({name: (lambda fn=steps[name]: fn(images, labels, arch_tensor))
                          for name in names})
        return
    times = {name: [] for name in names}
    for rnd in range(args.rounds):
        order = names[rnd % len(names):] + names[:rnd % len(names)]
        for name in order:
            runs = [_timed_both(steps[name], images, labels, arch_tensor)
                    for _ in range(args.steps)]
            times[name].append((statistics.median(r[0] for r in runs),
                                statistics.median(r[1] for r in runs)))
    ops = None if args.no_ops else count_node_visits(os.path.abspath(__file__), [
        f"--variants={args.variants}", f"--arch={args.arch}", f"--batch={args.batch}",
        f"--size={args.size}"])
    print(f"{'variant':<15} {'wall_s':>8} {'cpu_s':>8} {'ratio':>7} {'cpu_ratio':>9} "
          f"{'ops':>7} {'nodes':>7}")
    result = {"load_start": load_start}
    for name in names:
        ratio = statistics.median(t[0] / s[0] for t, s in zip(times[name], times["static"]))
        cpu_ratio = statistics.median(t[1] / s[1] for t, s in zip(times[name], times["static"]))
        live, nodes = (None, None) if ops is None else (ops[name]["live"], ops[name]["nodes"])
        print(f"{name:<15} {statistics.median(t[0] for t in times[name]):>8.3f} "
              f"{statistics.median(t[1] for t in times[name]):>8.3f} {ratio:>7.3f} "
              f"{cpu_ratio:>9.3f} {live!s:>7} {nodes!s:>7}")
        result[name] = {"ratio": round(ratio, 3), "cpu_ratio": round(cpu_ratio, 3),
                        "ops_per_step": live, "nodes_per_step": nodes}
    print(f"load average at end: {load_text()}")
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
