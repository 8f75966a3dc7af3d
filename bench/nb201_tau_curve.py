"""How well the shared weights rank cells as they train: Kendall tau vs training time.

  python bench/nb201_tau_curve.py --data_path=CIFAR10 --nb201_table=NB201_CSV \
      [--seed 0 --epochs 30 --every 3 --cells 50 --batches 5 --strategy random]

Trains the `cifar10_nb201_search` shared network (the bench's CIFAR-10 subset: the last 1,000
training images are the validation split) with uniformly random cells (``--strategy random``,
the uniform warm-up of the ``enas_plus`` recipe) or with the controller, and every `--every`
epochs scores the same `--cells` random cells on the first 1, 2 and `--batches` validation
batches: Kendall tau of that reward vs the cells' true accuracy, and the mean reward of cells
by how many of their 6 edges are parameter-free (none / skip / avg pool), which shows which ops
the shared weights favour. The table is an evaluator only. Prints one line per measurement and,
last, ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from paths import REPO, CIFAR10, NB201_TABLE  # noqa: E402  (bench/ is on sys.path when a script runs)


def _args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data_path", default=CIFAR10)
    p.add_argument("--nb201_table", default=NB201_TABLE)
    p.add_argument("--out", default="bench/out/nb201_tau_curve")
    p.add_argument("--config", default="cifar10_nb201_search")
    p.add_argument("--strategy", default="random", choices=("random", "controller"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--every", type=int, default=3)
    p.add_argument("--cells", type=int, default=50)
    p.add_argument("--batches", type=int, default=5)
    p.add_argument("--child_lr_max", type=float, default=None,
                   help="the child's cosine peak LR (default: the preset's 0.05)")
    return p.parse_args()


def main():
    args = _args()
    sys.path.insert(0, REPO)
    import numpy as np
    import tensorflow as tf

    from enas_tf2.api import _prepare
    from enas_tf2.configs.presets import get_preset
    from enas_tf2.ranking.kendall import kendall_tau
    from enas_tf2.ranking.nb201_table import Nb201Table
    from enas_tf2.search_space.nb201 import ops
    from enas_tf2.search_space.nb201.arch import Nb201Arch
    from enas_tf2.training.run_context import RunContext
    from enas_tf2.training.search_loop import SearchLoop

    free = set(range(ops.NUM_OPS)) - set(ops.CONV_OPS)   # none, skip, avg pool
    table = Nb201Table(args.nb201_table)
    cfg = get_preset(args.config)
    if args.child_lr_max is not None:
        cfg = cfg.replace(optim=dataclasses.replace(cfg.optim, lr_max=args.child_lr_max))
    cfg = cfg.replace(
        data=dataclasses.replace(cfg.data, data_path=args.data_path, valid_size=1000,
                                 seed=args.seed),
        run=dataclasses.replace(cfg.run, output_dir=args.out, seed=args.seed,
                                num_epochs=args.epochs, reset_output_dir=True,
                                eval_every_epochs=10 ** 6, derive_num_samples=2,
                                derive_eval_batches=1, preflight=False,
                                search_strategy=args.strategy, log_every=1000))
    strategy, space, task = _prepare(cfg)
    loop = SearchLoop(cfg, space, task, RunContext(cfg.run, strategy))
    rng = np.random.default_rng(1000 + args.seed)
    cells = [Nb201Arch(tuple(int(v) for v in rng.integers(5, size=6)))
             for _ in range(args.cells)]
    truth = [table.accuracy(c) for c in cells]
    n_free = [sum(op in free for op in c.to_array()) for c in cells]
    batches = list(itertools.islice(iter(loop.dist_valid), args.batches))
    started, curve = time.time(), []
    run_epoch = loop._run_epoch   # pylint: disable=protected-access

    def measured(epoch):
        record = run_epoch(epoch)
        if (epoch + 1) % args.every == 0:
            rows = [loop.scorer.score(tf.constant(c.to_array()), batches)["batch_rewards"]
                    for c in cells]
            ks = sorted({1, min(2, args.batches), args.batches})
            taus = {k: kendall_tau([sum(r[:k]) / k for r in rows], truth)["tau"] for k in ks}
            full = [sum(r) / len(r) for r in rows]
            by_free = {}
            for n, value in zip(n_free, full):
                by_free.setdefault(n, []).append(value)
            point = {"epoch": epoch + 1, "step": int(loop.state.step.numpy()),
                     "seconds": round(time.time() - started), "train_acc":
                     record.get("child_acc"), "tau": taus,
                     "mean_reward": float(np.mean(full)),
                     "reward_by_free_edges": {str(n): round(float(np.mean(v)), 4)
                                              for n, v in sorted(by_free.items())}}
            curve.append(point)
            print(json.dumps(point), flush=True)
        return record

    loop._run_epoch = measured    # pylint: disable=protected-access
    loop.run()
    truth_by_free = {}
    for n, value in zip(n_free, truth):
        truth_by_free.setdefault(n, []).append(value)
    print("RESULT " + json.dumps({"strategy": args.strategy, "seed": args.seed, "curve": curve,
                                  "truth_by_free_edges": {str(n): round(float(np.mean(v)), 2)
                                                          for n, v in
                                                          sorted(truth_by_free.items())}}))


if __name__ == "__main__":
    main()
