"""Profile: where the shared child's train step spends time the static model's step does not.

Builds the weight-shared child (micro or macro, the settings of `child_step.py` /
`macro_child_step.py`) and the static model of ONE architecture, runs each train step once to
trace it, then profiles ``--steps`` steps of each under the TensorFlow profiler and prints, per op
type, the kernels executed per step and their summed kernel time per step, shared vs static,
sorted by the time difference. The executed-op counts do not depend on the machine or its load;
the kernel times are comparable only within one run.

    python bench/op_profile.py                      # micro, arch 0
    python bench/op_profile.py --space macro --arch 1
"""

from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

import tensorflow as tf  # noqa: E402
import keras  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from child_step import make_train_step  # noqa: E402
from measure import (COUNT_FLAG, count_node_visits, load_text, print_op_table,  # noqa: E402
                     profile_ops, run_marked_steps)


def build_pair(space: str, arch_index: int, args):
    """(shared model, static model, arch tensor) for one random architecture of ``space``."""
    if space == "micro":
        from static_micro import StaticMicroModel
        from enas_tf2.search_space.micro.arch import MicroArch
        from enas_tf2.search_space.micro.child import MicroChild
        arch = MicroArch.random(5, args.seed + arch_index)
        kw = dict(num_layers=6, out_filters=20)
        shared = MicroChild(num_cells=5, num_classes=10, keep_prob=0.9, **kw)
        static = StaticMicroModel(arch, **kw)
    else:
        from static_macro import StaticMacroModel
        from enas_tf2.search_space.macro.arch import MacroArch
        from enas_tf2.search_space.macro.child import MacroChild
        arch = MacroArch.random(12, args.seed + arch_index, skip_prob=0.4)
        shared = MacroChild(num_layers=12, out_filters=36, num_classes=10, keep_prob=0.9)
        static = StaticMacroModel(arch, out_filters=36)
    shape = (None, args.size, args.size, 3)
    shared.build(shape)
    static.build(shape)
    return shared, static, tf.constant(arch.to_array())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", choices=("micro", "macro"), default="micro")
    parser.add_argument("--arch", type=int, default=0, help="which random arch (seed + arch)")
    parser.add_argument("--steps", type=int, default=3, help="profiled steps per model")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--top", type=int, default=30, help="rows of the table")
    parser.add_argument("--threads", type=int, default=0,
                        help="TF inter- and intra-op threads (0: TF's); 1 times pure work")
    parser.add_argument(COUNT_FLAG, action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)

    tf.random.set_seed(args.seed)
    keras.utils.set_random_seed(args.seed)
    images = tf.random.normal([args.batch, args.size, args.size, 3], seed=args.seed)
    labels = tf.random.uniform([args.batch], 0, 10, tf.int32, seed=args.seed)
    shared, static, arch = build_pair(args.space, args.arch, args)
    shared_step = make_train_step(shared, True, [0])
    static_step = make_train_step(static, False, [0])
    if args.count_nodes_only:
        run_marked_steps({"shared": lambda: shared_step(images, labels, arch),
                          "static": lambda: static_step(images, labels, arch)})
        return
    for step in (shared_step, static_step):      # trace and first run outside the profile
        step(images, labels, arch).numpy()
        step(images, labels, arch).numpy()
    print(f"load average at start: {load_text()}")
    profiles = {name: profile_ops(step, (images, labels, arch), args.steps)
                for name, step in (("shared", shared_step), ("static", static_step))}
    visits = count_node_visits(os.path.abspath(__file__), [
        f"--space={args.space}", f"--arch={args.arch}", f"--batch={args.batch}",
        f"--size={args.size}", f"--seed={args.seed}"])
    print(f"{args.space} arch {args.arch}: ops executed per step by type (executor log, exact) "
          f"and their kernel ms per step (TF profiler, {args.steps} steps each; the profiler "
          f"times only kernels TF runs as 'expensive')")
    counted = {name: {op: (n, profiles[name].get(op, (0, 0.0))[1])
                      for op, n in visits[name]["ops"].items()} for name in visits}
    print_op_table(counted["shared"], counted["static"], args.top, by_count=True)
    shared, static = visits["shared"], visits["static"]
    print(f"nodes visited per step (incl. untaken branches visited as dead): shared "
          f"{shared['nodes']}, static {static['nodes']}")
    print(f"load average at end: {load_text()}")
    print("RESULT " + json.dumps({"space": args.space, "arch": args.arch,
                                  "ops_per_step": shared["live"],
                                  "static_ops_per_step": static["live"],
                                  "nodes_per_step": shared["nodes"],
                                  "static_nodes_per_step": static["nodes"],
                                  "ops_ratio": round(shared["live"] / static["live"], 3)}))


if __name__ == "__main__":
    main()
