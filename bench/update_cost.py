"""Benchmark: the weight update of the shared micro child vs the static model (one arch).

The shared child holds every op's weights of every slot (1.59 M in 105 variables); a static model
only its own architecture's (0.25-0.4 M in 249-401 variables). Every train step pays, over all
of them, what `child_step.py`'s step does after the gradients: the L2 term, the global-norm clip
and SGD with Nesterov momentum. This times exactly that part (gradients fixed, one
`tf.function` per model), interleaved in one process, so the design's floor in
bench/README.md ("Shared-step overhead") is a measured figure. ``--threads 1`` times pure work.

    python bench/update_cost.py --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from child_step import GRAD_BOUND, L2_REG  # noqa: E402
from measure import add_load_flags, load_text, wait_for_quiet_machine  # noqa: E402
from op_profile import build_pair  # noqa: E402


def make_update(model):
    """The step's tail for `model`'s variables: L2 gradient, global-norm clip, SGD Nesterov."""
    variables = model.trainable_variables
    optimizer = keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True)
    optimizer.build(variables)
    grads = [tf.random.normal(v.shape, stddev=1e-3) for v in variables]

    @tf.function
    def update():
        with tf.GradientTape() as tape:
            l2 = L2_REG * tf.add_n([tf.reduce_sum(tf.square(v)) for v in variables])
        total = [g + d for g, d in zip(grads, tape.gradient(l2, variables))]
        clipped, norm = tf.clip_by_global_norm(total, GRAD_BOUND)
        optimizer.apply_gradients(zip(clipped, variables))
        return norm

    return update, variables


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", type=int, default=0, help="which random arch (seed + arch)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=32, help="image side the models are built for")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--steps", type=int, default=20, help="timed updates per round")
    parser.add_argument("--threads", type=int, default=0, help="inter- and intra-op threads")
    add_load_flags(parser)
    args = parser.parse_args()
    if args.threads:
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    load_start = wait_for_quiet_machine(args.max_wait_min, args.quiet_load)
    keras.utils.set_random_seed(args.seed)
    shared, static, _ = build_pair("micro", args.arch, args)   # the profile's two models
    runs = {name: make_update(model) for name, model in (("shared", shared), ("static", static))}
    times = {name: [] for name in runs}
    for rnd in range(args.rounds):
        for name in (("shared", "static") if rnd % 2 == 0 else ("static", "shared")):
            update = runs[name][0]
            update().numpy()
            start = time.perf_counter()
            for _ in range(args.steps):
                update().numpy()
            times[name].append((time.perf_counter() - start) / args.steps)
    print(f"{'model':>7} {'variables':>9} {'weights':>9} {'update_ms':>9}")
    result = {"load_start": load_start}
    for name, (_, variables) in runs.items():
        weights = sum(v.shape.num_elements() for v in variables)
        ms = 1000 * statistics.median(times[name])
        print(f"{name:>7} {len(variables):>9} {weights:>9} {ms:>9.2f}")
        result[f"{name}_update_ms"] = round(ms, 2)
    print(f"load average at end: {load_text()}")
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
