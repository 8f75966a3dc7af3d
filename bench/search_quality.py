"""Search quality on a fixed CPU budget: the ENAS controller vs the paper's "search disabled"
control (``--search_strategy=random``), same seed, same child, same number of child steps.

  python bench/search_quality.py --data_path=PATH_TO_CIFAR10 [--epochs 20 --final_epochs 15]

On the real CIFAR-10 subset (the last 1,000 training images are the validation split, the 1,000
test images are held out), with a small micro child and the authors' search recipe otherwise
(auxiliary head, no gradient clipping, controller tanh 1.1 / op_tanh_reduce 2.5, Adam 0.0035,
10 samples per update):

1. (a) a controller search and (b) a random-strategy search, each `--epochs` epochs;
2. for each, `--derive` architectures of its own strategy and as many uniformly random ones are
   scored under ITS shared weights on the SAME held-out test batches (never seen by the
   controller, whose rewards come from the validation split): mean reward, spread over
   architectures and the per-batch paired difference;
3. the controller's entropy (mean over the first and the last controller phase, next to the
   uniform policy's) and the op histogram of its last phase;
4. the two derived architectures (best on the validation batches) trained standalone for
   `--final_epochs` epochs with the same recipe, seed and budget: test accuracy with the
   best-validation weights.

Prints a Markdown table and ``RESULT {...}`` (also written to ``OUT/result.json``). No goal is
promised on this budget: the point is an honest comparison that can be rerun at full size.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import math
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


def _args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data_path", default=os.environ.get("ENAS_CIFAR10", "data/cifar10"))
    parser.add_argument("--out", default="bench/out/search_quality")
    parser.add_argument("--epochs", type=int, default=20, help="search epochs (both runs)")
    parser.add_argument("--final_epochs", type=int, default=15, help="standalone epochs")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--cells", type=int, default=2)
    parser.add_argument("--filters", type=int, default=16)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--controller_steps", type=int, default=10)
    parser.add_argument("--aggregate", type=int, default=10)
    parser.add_argument("--derive", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--recipe", choices=("faithful", "plus"), default="faithful",
                        help="controller recipe: the authors' (--controller_steps x "
                             "--aggregate samples per epoch) or enas_plus (the "
                             "cifar10_micro_search_plus controller: one sample per Adam step, "
                             "advantage normalisation; --controller_steps x --aggregate "
                             "samples per epoch too, after --warmup_epochs uniform epochs)")
    parser.add_argument("--warmup_epochs", type=int, default=None,
                        help="plus recipe: uniform warm-up epochs (default: a tenth, >= 1)")
    return parser.parse_args()


def _config(args, strategy: str):
    from enas_tf2.configs.presets import get_preset
    plus = args.recipe == "plus"
    cfg = get_preset("cifar10_micro_search_plus" if plus else "cifar10_micro_search")
    r = dataclasses.replace
    if plus:     # the same samples per epoch as the faithful run, one per Adam step
        controller = r(cfg.controller, train_steps=args.controller_steps * args.aggregate,
                       warmup_epochs=(max(1, args.epochs // 10) if args.warmup_epochs is None
                                      else args.warmup_epochs))
    else:
        controller = r(cfg.controller, train_steps=args.controller_steps,
                       num_aggregate=args.aggregate)
    return cfg.replace(
        space_config=r(cfg.space_config, num_layers=args.layers, num_cells=args.cells,
                       out_filters=args.filters, use_aux_heads=True),
        data=r(cfg.data, data_path=args.data_path, valid_size=1000, batch_size=args.batch,
               seed=args.seed),
        optim=r(cfg.optim, grad_clip="none", lr_T_0=args.epochs),   # one cosine period
        controller=controller,
        run=r(cfg.run, output_dir=os.path.join(args.out, strategy), reset_output_dir=True,
              num_epochs=args.epochs, log_every=50, seed=args.seed, search_strategy=strategy,
              derive_num_samples=args.derive, derive_eval_batches=5))


def _search(cfg):
    """Runs one search; returns (loop, arch.json result, wall seconds)."""
    from enas_tf2.api import _prepare
    from enas_tf2.training.run_context import RunContext
    from enas_tf2.training.search_loop import SearchLoop
    strategy, space, task = _prepare(cfg)
    start = time.time()
    loop = SearchLoop(cfg, space, task, RunContext(cfg.run, strategy))
    result = loop.run()
    return loop, result, time.time() - start


def _progress(cfg):
    with open(os.path.join(cfg.run.output_dir, "progress.jsonl")) as f:
        return [json.loads(line) for line in f if line.strip()]


def _uniform_entropy(num_cells: int) -> float:
    """Entropy of the uniform micro policy: per cell and node i (i + 2 inputs), two index
    decisions over i + 2 choices and two op decisions over 5 ops."""
    return 2 * sum(2 * math.log(i + 2) + 2 * math.log(5) for i in range(num_cells))


def _standalone(cfg, arch, out_dir: str, epochs: int):
    import enas_tf2
    import keras
    r = dataclasses.replace
    final = cfg.replace(controller=r(cfg.controller, training=False),
                        optim=r(cfg.optim, lr_T_0=epochs),
                        run=r(cfg.run, output_dir=out_dir, num_epochs=epochs,
                              reset_output_dir=True))
    keras.utils.set_random_seed(cfg.run.seed)
    start = time.time()
    result = enas_tf2.train_final(final, arch)
    return result.metrics, result.num_params, time.time() - start


def main():
    args = _args()
    from enas_tf2 import api
    rows = {}
    for name in ("controller", "random"):
        cfg = _config(args, name)
        loop, result, seconds = _search(cfg)
        test = list(itertools.islice(iter(loop.dist_test), 10))      # 1,000 held-out images
        _, _, held_out = loop.compare(test, args.derive, int(loop.state.epoch.numpy()))
        progress = _progress(cfg)
        entropies = [p["entropy"] for p in progress if p.get("entropy") is not None]
        rows[name] = {"cfg": cfg, "search_s": seconds, "arch": result, "held_out": held_out,
                      "valid_acc": progress[-1].get("valid_acc"),
                      "child_acc": progress[-1].get("child_acc"),
                      "entropy_first": entropies[0] if entropies else None,
                      "entropy_last": entropies[-1] if entropies else None,
                      "op_hist": progress[-1].get("op_hist")}
    for name, row in rows.items():
        arch = api.parse_arch_json("micro", row["arch"], row["cfg"].space_config)
        metrics, params, seconds = _standalone(row["cfg"], arch,
                                               os.path.join(args.out, f"{name}_final"),
                                               args.final_epochs)
        row.update(final=metrics, final_params=params, final_s=seconds)
    _report(args, rows)


def _fmt(value, digits=4):
    return "-" if value is None else f"{value:.{digits}f}"


def _report(args, rows):
    c, r = rows["controller"], rows["random"]
    hc, hr = c["held_out"], r["held_out"]
    hist = c["op_hist"] or {}
    total = sum(hist.values()) or 1
    shares = ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in sorted(hist.items()))
    table = [
        "| | (a) controller search | (b) random search |",
        "|---|---|---|",
        f"| search wall time | {c['search_s'] / 60:.1f} min | {r['search_s'] / 60:.1f} min |",
        f"| child train acc, last epoch | {_fmt(c['child_acc'])} | {_fmt(r['child_acc'])} |",
        f"| valid acc (a new arch per batch), last epoch | {_fmt(c['valid_acc'])} | "
        f"{_fmt(r['valid_acc'])} |",
        f"| held-out test, {args.derive} controller samples: mean reward (std over archs) | "
        f"{_fmt(hc['controller_mean_reward'])} ({_fmt(hc['controller_reward_std'])}) | - |",
        f"| held-out test, {args.derive} uniformly random archs: mean reward (std) | "
        f"{_fmt(hc['random_mean_reward'])} ({_fmt(hc['random_reward_std'])}) | "
        f"{_fmt(hr['random_mean_reward'])} ({_fmt(hr['random_reward_std'])}) |",
        f"| controller - random, per-batch paired difference over {hc['eval_batches']} test "
        f"batches: mean +- std error | {hc['reward_diff_mean']:+.4f} +- "
        f"{_fmt(hc['reward_diff_sem'])} | - |",
        f"| controller entropy, first / last phase (uniform policy: "
        f"{_uniform_entropy(args.cells):.2f}) | {_fmt(c['entropy_first'], 2)} / "
        f"{_fmt(c['entropy_last'], 2)} | - |",
        f"| op histogram, last controller phase | {shares} | uniform (20% each) |",
        f"| derived arch | `{c['arch']['tokens']}` | `{r['arch']['tokens']}` |",
        f"| derived arch, standalone {args.final_epochs} epochs: best valid acc | "
        f"{_fmt(c['final'].get('best_valid_acc'))} | {_fmt(r['final'].get('best_valid_acc'))} |",
        f"| derived arch, standalone: test acc (best-valid weights) | "
        f"{_fmt(c['final'].get('test_acc'))} | {_fmt(r['final'].get('test_acc'))} |",
        f"| standalone wall time, parameters | {c['final_s'] / 60:.1f} min, "
        f"{c['final_params']:,} | {r['final_s'] / 60:.1f} min, {r['final_params']:,} |",
    ]
    print("\n".join(table))
    result = {name: {k: v for k, v in row.items() if k != "cfg"} for name, row in rows.items()}
    result["settings"] = vars(args)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "result.json"), "w") as f:
        json.dump(result, f, indent=1, default=str)
    print("RESULT " + json.dumps({
        "controller_held_out_reward": hc["controller_mean_reward"],
        "random_held_out_reward_same_weights": hc["random_mean_reward"],
        "random_run_held_out_reward": hr["random_mean_reward"],
        "paired_diff": hc["reward_diff_mean"], "paired_diff_sem": hc["reward_diff_sem"],
        "controller_final_test_acc": c["final"].get("test_acc"),
        "random_final_test_acc": r["final"].get("test_acc")}))


if __name__ == "__main__":
    main()
