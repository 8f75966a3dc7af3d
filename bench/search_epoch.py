"""Search-epoch wall time: the compiled inner loop (`steps_per_loop` steps per `tf.function` call,
metrics read once per log interval) vs one call and one metrics read per step (how the loop ran
before the engine redesign: three device-to-host reads per step).

Both variants train the same weight-shared micro child on the real CIFAR-10 subset (one pass over
the training split = one search epoch's child phase; the controller phase is the same in both and
is left out), interleaved in one process so that machine noise hits both alike.

  python bench/search_epoch.py --data_path=PATH_TO_CIFAR10 [--rounds 2] [--layers 6 --filters 20]

Prints a table, then ``RESULT {"epoch_s_per_step_reads": ..., "epoch_s_one_step_calls": ...,
"epoch_s_inner_loop": ..., "ratio": ...}`` (ratio = inner loop / per-step calls and reads, lower is
better).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data_path", default=os.environ.get("ENAS_CIFAR10", "data/cifar10"))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--filters", type=int, default=20)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=0, help="cap steps per epoch (0 = full)")
    args = parser.parse_args()

    import tensorflow as tf
    from enas_tf2.configs.presets import get_preset
    from enas_tf2.search_space.registry import get_space
    from enas_tf2.tasks.registry import get_task
    from enas_tf2.training.run_context import RunContext
    from enas_tf2.training.search_loop import SearchLoop
    from enas_tf2.training.train_phase import PhaseSpec, train_phase

    cfg = get_preset("cifar10_micro_search")
    out = tempfile.mkdtemp(prefix="bench_search_epoch_")
    cfg = cfg.replace(
        space_config=dataclasses.replace(cfg.space_config, num_layers=args.layers,
                                         out_filters=args.filters),
        data=dataclasses.replace(cfg.data, data_path=args.data_path, valid_size=1000,
                                 batch_size=args.batch),
        run=dataclasses.replace(cfg.run, output_dir=out, max_steps_per_epoch=args.steps))
    strategy = tf.distribute.get_strategy()
    space = get_space(cfg.space, cfg.space_config)
    task = get_task(cfg.task, cfg.data, cfg.optim)
    loop = SearchLoop(cfg, space, task, RunContext(cfg.run, strategy))
    steps = loop.steps_per_epoch
    st = loop.state

    def epoch(steps_per_loop: int, log_every: int) -> float:
        spec = PhaseSpec(epoch=0, num_epochs=1, steps=steps, steps_per_loop=steps_per_loop,
                         log_every=log_every, examples_per_step=args.batch, output_dir=out)
        start = time.perf_counter()
        train_phase(lambda n: st.steps.train_loop(loop.train_iter, tf.constant(n)),
                    st.steps.metrics, spec, log=loop.log, task_metrics=task.metrics,
                    global_step=lambda: int(st.step.numpy()), lr_fn=st.lr_fn)
        return time.perf_counter() - start

    # (steps per compiled call, steps per metrics read): the old loop called one compiled step
    # and read its scalars back every step; "one_step_calls" isolates the call overhead.
    variants = {"per_step_reads": (1, 1), "one_step_calls": (1, 50), "inner_loop": (10, 50)}
    first = {name: epoch(*v) for name, v in variants.items()}   # includes tracing
    times = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, v in variants.items():
            times[name].append(epoch(*v))
    med = {name: statistics.median(t) for name, t in times.items()}
    print(f"micro child {args.layers} layers x {args.filters} filters, batch {args.batch}, "
          f"{steps} steps per epoch on the CIFAR-10 subset, {args.rounds} interleaved rounds")
    print(f"{'variant':<16}{'first epoch s':>15}{'median epoch s':>16}{'ms/step':>10}")
    for name in variants:
        print(f"{name:<16}{first[name]:>15.2f}{med[name]:>16.2f}"
              f"{1000 * med[name] / steps:>10.1f}")
    ratio = med["inner_loop"] / med["per_step_reads"]
    print(f"inner loop / per-step calls and reads: {ratio:.3f}; inner loop / per-step calls: "
          f"{med['inner_loop'] / med['one_step_calls']:.3f}")
    print("RESULT " + json.dumps({"epoch_s_per_step_reads": round(med["per_step_reads"], 3),
                                  "epoch_s_one_step_calls": round(med["one_step_calls"], 3),
                                  "epoch_s_inner_loop": round(med["inner_loop"], 3),
                                  "ratio": round(ratio, 4), "steps": steps}))


if __name__ == "__main__":
    main()
