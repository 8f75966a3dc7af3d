"""Search quality against ground truth: the NAS-Bench-201 cell space and its truth table.

  python bench/nb201_quality.py --data_path=CIFAR10 --nb201_table=NB201_CSV \
      [--seeds 3 --budget_minutes 4 --oracle_samples 500 --kendall_cells 100 --naswot_cells 100]

(a) oracle mode: the ENAS controller trained by REINFORCE with the table's true accuracy as its
    reward (the `cifar10_nb201_search` controller recipe, and the `enas_plus` one of
    `cifar10_nb201_search_plus`), against uniformly random cells; best true accuracy after 10,
    100 and 500 samples.
(b) weight sharing on the real CIFAR-10 subset (the last 1,000 of its 4,000 training images are
    the validation split): the `cifar10_nb201_search` preset (the faithful ENAS recipe on the
    benchmark's C=16, N=5 network; ``--recipe plus``: `cifar10_nb201_search_plus` for the
    controller run) with the controller and with ``--search_strategy=random``,
    each trained for `--budget_minutes` of wall time (the search process is interrupted at the
    budget, then derives from its last checkpoint with ``--derive_only``): true accuracy of the
    derived cell, and Kendall tau between the shared-weight reward and the true accuracy of
    `--kendall_cells` random cells (same cells for every run of a seed).
(c) NASWOT (Mellor et al. 2021): the best of `--naswot_cells` random cells by the score at
    initialisation on 128 training images; its true accuracy.

The table is an evaluator here: the searches never read it (only the oracle, by definition).
Prints a Markdown table, a ``figures`` line and, last, ``RESULT {...}`` (means over seeds).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
from paths import REPO, CIFAR10, NB201_TABLE  # noqa: E402  (bench/ is on sys.path when a script runs)


def _args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data_path", default=CIFAR10)
    p.add_argument("--nb201_table", default=NB201_TABLE)
    p.add_argument("--out", default="bench/out/nb201_quality")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--budget_minutes", type=float, default=4.0,
                   help="wall time of each weight-sharing search's training")
    p.add_argument("--oracle_samples", type=int, default=500)
    p.add_argument("--kendall_cells", type=int, default=100)
    p.add_argument("--derive_num_samples", type=int, default=20,
                   help="derive candidates per search (the preset's 100 cost ~7 CPU min)")
    p.add_argument("--derive_eval_batches", type=int, default=2,
                   help="validation batches of 100 images each derive candidate and each "
                        "Kendall cell is scored on")
    p.add_argument("--kendall_batches", type=int, default=5,
                   help="validation batches the Kendall cells are scored on (tau is reported "
                        "on the first 1, 2 and all of them; the headline tau uses 2, as the "
                        "derive)")
    p.add_argument("--naswot_cells", type=int, default=100)
    p.add_argument("--skip", default="", help="comma list of parts to skip: oracle,ws,naswot")
    p.add_argument("--recipe", choices=("faithful", "plus"), default="faithful",
                   help="controller recipe of the weight-sharing controller run: the faithful "
                        "cifar10_nb201_search or cifar10_nb201_search_plus (the oracle part "
                        "always runs both)")
    p.add_argument("--warmup_epochs", type=int, default=None,
                   help="plus recipe: uniform warm-up epochs (default: the preset's 15, which "
                        "a budget of minutes never leaves)")
    p.add_argument("--eval_every_epochs", type=int, default=1,
                   help="the searches' per-epoch valid/test evaluation (1 as before; a large "
                        "value leaves the whole budget to the search, the derive is unchanged)")
    return p.parse_args()


def _mean(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


PRESETS = {"faithful": "cifar10_nb201_search", "plus": "cifar10_nb201_search_plus"}


def oracle_part(args, table, log):
    """``{"oracle": faithful controller, "oracle_plus": enas_plus, "oracle_random": ...}``,
    each a list of per-seed ``top1_at`` dicts."""
    from enas_tf2.configs.presets import get_preset
    from enas_tf2.ranking.oracle import OracleSearch
    rows = {}
    for name, strategy, preset in (("oracle", "oracle", PRESETS["faithful"]),
                                   ("oracle_plus", "oracle", PRESETS["plus"]),
                                   ("oracle_random", "oracle_random", PRESETS["faithful"])):
        ccfg = get_preset(preset).controller
        rows[name] = [OracleSearch(table, strategy, args.oracle_samples, seed, ccfg,
                                   log=log).run()["top1_at"] for seed in range(args.seeds)]
    return rows


def _cli(args, seed, strategy, extra):
    recipe = args.recipe if strategy == "controller" else "faithful"
    out = os.path.join(args.out, f"ws_{strategy}_{recipe}_seed{seed}")
    if recipe == "plus" and args.warmup_epochs is not None:
        extra = extra + [f"--controller_warmup_epochs={args.warmup_epochs}"]
    return [sys.executable, "-m", "enas_tf2.cli.cnn_main", f"--config={PRESETS[recipe]}",
            f"--eval_every_epochs={args.eval_every_epochs}",
            f"--data_path={args.data_path}", "--valid_size=1000", f"--output_dir={out}",
            f"--seed={seed}", f"--search_strategy={strategy}", "--num_epochs=1000",
            "--checkpoint_every_secs=20", "--nopreflight", "--log_every=20",
            f"--derive_num_samples={args.derive_num_samples}",
            f"--derive_eval_batches={args.derive_eval_batches}"] + extra, out


def ws_search(args, seed, strategy, log):
    """Trains for the budget (then SIGINT: the checkpoints are kept), derives with the table."""
    cmd, out = _cli(args, seed, strategy, ["--reset_output_dir"])
    env = dict(os.environ, PYTHONPATH=REPO)
    log_path = out + ".log"
    os.makedirs(args.out, exist_ok=True)
    start = time.time()
    with open(log_path, "w") as f:
        # SIGINT back to its default: a shell's background job starts with it ignored, and the
        # search must see Ctrl-C (KeyboardInterrupt: it stops, its checkpoints are kept).
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=env,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        try:
            proc.wait(timeout=args.budget_minutes * 60)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=300)
    trained = time.time() - start
    cmd, _ = _cli(args, seed, strategy, ["--derive_only", f"--nb201_table={args.nb201_table}"])
    with open(log_path, "a") as f:
        subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, check=True)
    with open(os.path.join(out, "arch.json")) as f:
        arch = json.load(f)
    progress = [json.loads(line) for line in open(os.path.join(out, "progress.jsonl"))]
    epochs = max([int(r.get("epoch", 0)) for r in progress] + [0])
    steps = max([int(r.get("step", 0)) for r in progress] + [0])
    log(f"ws {strategy} seed {seed}: {trained:.0f}s, {epochs} epochs done, {steps} child steps, "
        f"derived {arch['tokens']} true {arch['true_accuracy']['cifar10_test_acc']:.2f}")
    return out, arch["true_accuracy"]["cifar10_test_acc"], epochs, steps


def kendall(run_dir, cells, table, num_batches):
    """``{k: tau}``: Kendall tau of the shared-weight reward on the first k of `num_batches`
    validation batches (k = 1, 2, num_batches) vs the true accuracy of `cells`; the batches are
    equal-sized, so the reward on k of them is the mean of its first k batch rewards."""
    import dataclasses
    import itertools

    import tensorflow as tf

    from enas_tf2.api import _prepare
    from enas_tf2.ranking.experiment_file import read_experiment
    from enas_tf2.ranking.kendall import kendall_tau
    from enas_tf2.training.run_context import RunContext
    from enas_tf2.training.search_loop import SearchLoop
    cfg = read_experiment(run_dir)
    run = dataclasses.replace(cfg.run, output_dir=run_dir, reset_output_dir=False)
    cfg = cfg.replace(run=run)
    strategy, space, task = _prepare(cfg)
    loop = SearchLoop(cfg, space, task, RunContext(run, strategy))
    batches = list(itertools.islice(iter(loop.dist_valid), num_batches))
    rows = [loop.scorer.score(tf.constant(c.to_array()), batches)["batch_rewards"]
            for c in cells]
    loop.ctx.close()
    truth = [table.accuracy(c) for c in cells]
    return {k: kendall_tau([sum(r[:k]) / k for r in rows], truth)["tau"]
            for k in sorted({1, min(2, len(batches)), len(batches)})}


def main():
    args = _args()
    sys.path.insert(0, REPO)
    from enas_tf2.ranking.nb201_table import Nb201Table
    from enas_tf2.search_space.nb201.arch import Nb201Arch
    skip = set(filter(None, args.skip.split(",")))
    started = time.time()

    def log(line):
        print(f"[{time.time() - started:6.0f}s] {line}", flush=True)

    table = Nb201Table(args.nb201_table)
    seeds = list(range(args.seeds))
    keys = ("oracle_controller_top1_at_100", "oracle_random_top1_at_100",
            "ws_controller_true_acc", "ws_random_true_acc", "ws_kendall_tau", "naswot_true_acc")
    result, figures = {k: None for k in keys}, {}
    if "oracle" not in skip:
        oracle = oracle_part(args, table, log)
        for strategy, per_seed in oracle.items():
            for k in ("10", "100", "500"):
                figures[f"{strategy}_top1_at_{k}"] = _mean([r.get(k) for r in per_seed])
        result["oracle_controller_top1_at_100"] = figures["oracle_top1_at_100"]
        result["oracle_random_top1_at_100"] = figures["oracle_random_top1_at_100"]
        for name in ("oracle_plus_top1_at_100", "oracle_controller_top1_at_500",
                     "oracle_plus_top1_at_500", "oracle_random_top1_at_500"):
            result[name] = figures[name.replace("_controller", "")]
        figures["oracle_per_seed"] = oracle
    ws = {"controller": [], "random": []}
    taus = {"controller": [], "random": []}
    taus_by_batches = {"controller": [], "random": []}
    if "ws" not in skip:
        for seed in seeds:
            import numpy as np
            rng = np.random.default_rng(1000 + seed)
            cells = [Nb201Arch(tuple(int(v) for v in rng.integers(5, size=6)))
                     for _ in range(args.kendall_cells)]
            for strategy in ("controller", "random"):
                out, acc, epochs, steps = ws_search(args, seed, strategy, log)
                ws[strategy].append({"acc": acc, "epochs": epochs, "steps": steps})
                by_batches = kendall(out, cells, table, args.kendall_batches)
                taus[strategy].append(by_batches[min(2, args.kendall_batches)])
                taus_by_batches[strategy].append(by_batches)
                log(f"  kendall tau ({strategy} shared weights, {len(cells)} random cells) by "
                    f"scoring batches: " + ", ".join(f"{k}: {t:+.3f}"
                                                     for k, t in by_batches.items()))
        result["ws_controller_true_acc"] = _mean([r["acc"] for r in ws["controller"]])
        result["ws_random_true_acc"] = _mean([r["acc"] for r in ws["random"]])
        result["ws_kendall_tau"] = _mean(taus["controller"])
        figures["ws_random_kendall_tau"] = _mean(taus["random"])
        figures["ws_kendall_tau_by_batches"] = {
            strategy: {str(k): _mean([r[k] for r in rows]) for k in rows[0]}
            for strategy, rows in taus_by_batches.items()}
        result["ws_random_kendall_tau"] = figures["ws_random_kendall_tau"]
        figures["ws_epochs_mean"] = _mean([r["epochs"] for r in ws["controller"] + ws["random"]])
    naswot = []
    if "naswot" not in skip:
        from enas_tf2.ranking.nb201_runs import run_naswot
        for seed in seeds:
            r = run_naswot(args.data_path, args.naswot_cells, seed, 128, args.nb201_table)
            naswot.append(r["best"]["cifar10_test_acc"])
            log(f"naswot seed {seed}: best of {args.naswot_cells} -> true "
                f"{naswot[-1]:.2f} ({r['best']['tokens']})")
        result["naswot_true_acc"] = _mean(naswot)
    result["seeds"] = args.seeds
    result["recipe"] = args.recipe

    def fmt(v):
        return "n/a" if v is None else f"{v:.2f}"
    print(f"\n| method (mean over {args.seeds} seeds) | true CIFAR-10 acc of the result | "
          f"published (NAS-Bench-201 / NASWOT) |")
    print("|---|---|---|")
    if "oracle" not in skip:
        for k in ("10", "100", "500"):
            print(f"| oracle controller (faithful), best of {k} samples | "
                  f"{fmt(figures[f'oracle_top1_at_{k}'])} | - |")
            print(f"| oracle controller (enas_plus), best of {k} samples | "
                  f"{fmt(figures[f'oracle_plus_top1_at_{k}'])} | - |")
            print(f"| oracle random, best of {k} samples | "
                  f"{fmt(figures[f'oracle_random_top1_at_{k}'])} | "
                  f"{ {'10': '~93.1', '100': '~93.9', '500': '~94.1'}[k]} |")
    if "ws" not in skip:
        print(f"| ENAS weight sharing ({args.recipe}), {args.budget_minutes:g} min CPU | "
              f"{fmt(result['ws_controller_true_acc'])} | 54.30 (full budget) |")
        print(f"| random with shared weights, {args.budget_minutes:g} min CPU | "
              f"{fmt(result['ws_random_true_acc'])} | 87.66 (RSPS) |")
        print(f"| Kendall tau, shared reward vs truth ({args.kendall_cells} cells; controller "
              f"/ random run) | {result['ws_kendall_tau']:+.3f} / "
              f"{figures['ws_random_kendall_tau']:+.3f} | - |")
    if "naswot" not in skip:
        print(f"| NASWOT, best of {args.naswot_cells} | {fmt(result['naswot_true_acc'])} | "
              f"~92.96 |")
    print(f"| best cell in the space | {table.best:.2f} | 94.37 |")
    print("figures " + json.dumps({"per_seed": {"ws": ws, "taus": taus, "naswot": naswot},
                                   **figures, "budget_minutes": args.budget_minutes,
                                   "wall_seconds": round(time.time() - started)}))
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
