"""Which controller setting matters: an ablation of the REINFORCE recipe in oracle mode.

  python bench/nb201_oracle_sweep.py --nb201_table=NB201_CSV [--seeds 10 --samples 500]

Every row is `OracleSearch` (the project's nb201 controller and REINFORCE step, the table's
true accuracy as the reward) with the `cifar10_nb201_search` controller (the faithful ENAS
recipe) changed in the named fields; ``random`` is uniformly random cells. Per row: best true
accuracy after 100 and 500 samples (mean +- std over seeds 0..N-1) and the mean true accuracy
of the last 100 samples (how far the policy moved). Seconds per row: a few. Prints a Markdown
table and, last, ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from paths import REPO, NB201_TABLE  # noqa: E402  (bench/ is on sys.path when a script runs)

PLUS = {"adv_norm": True, "lr": 0.01, "num_aggregate": 1, "bl_dec": 0.9}
ROWS = (
    ("random", None),
    ("faithful (lr 0.0035, 10 samples/step, bl_dec 0.99)", {}),
    ("faithful + adv_norm", {"adv_norm": True}),
    ("lr 0.01, 1 sample/step", {"lr": 0.01, "num_aggregate": 1}),
    ("lr 0.01, 1 sample/step, bl_dec 0.9", {"lr": 0.01, "num_aggregate": 1, "bl_dec": 0.9}),
    ("enas_plus (the above + adv_norm)", PLUS),
    ("enas_plus, lr 0.0035", {**PLUS, "lr": 0.0035}),
    ("enas_plus, lr 0.02", {**PLUS, "lr": 0.02}),
    ("enas_plus, 5 samples/step", {**PLUS, "num_aggregate": 5}),
    ("enas_plus, bl_dec 0.99", {**PLUS, "bl_dec": 0.99}),
    ("enas_plus, entropy weight 0", {**PLUS, "entropy_weight": 0.0}),
    ("enas_plus, entropy weight 1e-2", {**PLUS, "entropy_weight": 1e-2}),
    ("enas_plus, tanh 2.5", {**PLUS, "tanh_constant": 2.5}),
    ("enas_plus, no tanh", {**PLUS, "tanh_constant": None}),
)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--nb201_table", default=NB201_TABLE)
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--samples", type=int, default=500)
    args = p.parse_args()
    sys.path.insert(0, REPO)
    import numpy as np

    from enas_tf2.configs.presets import get_preset
    from enas_tf2.ranking.nb201_table import Nb201Table
    from enas_tf2.ranking.oracle import OracleSearch
    table = Nb201Table(args.nb201_table)
    base = get_preset("cifar10_nb201_search").controller
    result = {}
    print(f"| setting (oracle mode, {args.seeds} seeds) | best of 100 | best of 500 | "
          f"mean of last 100 |")
    print("|---|---|---|---|")
    for name, changes in ROWS:
        strategy = "oracle_random" if changes is None else "oracle"
        ccfg = dataclasses.replace(base, **(changes or {}))
        runs = [OracleSearch(table, strategy, args.samples, seed, ccfg).run()
                for seed in range(args.seeds)]
        top = {k: [r["top1_at"][k] for r in runs] for k in ("100", str(args.samples))}
        last = float(np.mean([np.mean([s["true_acc"] for s in r["samples"][-100:]])
                              for r in runs]))
        result[name] = {"top1_at_100": top["100"], f"top1_at_{args.samples}":
                        top[str(args.samples)], "last100_mean": last}
        print(f"| {name} | {np.mean(top['100']):.2f} +- {np.std(top['100']):.2f} | "
              f"{np.mean(top[str(args.samples)]):.2f} +- {np.std(top[str(args.samples)]):.2f} "
              f"| {last:.2f} |", flush=True)
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
