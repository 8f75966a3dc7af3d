"""Hardware-aware search on the real CIFAR-10 subset: accuracy only vs a latency target.

  python bench/hardware_aware.py [--data_path=CIFAR10] [--epochs 2 --steps 10 --final_epochs 4]

1. `enas-arch latency-table`: the LiteRT float32 latency of every block of the nb201 space (the
   benchmark's network, C=16, N=5, 32x32 images, 1 interpreter thread), checked on 5 random
   whole networks.
2. Search A, ``--objective=accuracy`` (the paper's reward), `cifar10_nb201_search` with a small
   budget (`--epochs` x `--steps` child steps; 1,000 validation images).
3. The latency of A's derived cell's whole network measured with the interpreter; the target is
   half of it.
4. Search B: the same seed, budget and batches with ``--objective=latency
   --cost_target=TARGET --cost_constraint=hard --latency_table=TABLE``.
5. Both derived cells trained briefly (`cifar10_nb201_final`, `--final_epochs`) and exported
   with ``enas-export --format=litert`` (float32 and int8, test accuracy on the 1,000 test
   images, median latency).

Prints a Markdown table, then last ``RESULT {...}``: the measured float32 latencies of the two
exports, the target, their float32 test accuracies, the larger int8 accuracy drop (points) and
the table's mean absolute prediction error over its check networks and the two exports.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from paths import REPO, CIFAR10  # noqa: E402  (bench/ is on sys.path when a script runs)


def _args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data_path", default=CIFAR10)
    p.add_argument("--out", default="bench/out/hardware_aware")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=2, help="search epochs")
    p.add_argument("--steps", type=int, default=10, help="child steps per search epoch")
    p.add_argument("--final_epochs", type=int, default=4)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--reuse", action="store_true",
                   help="keep the table, searches, target and final trainings already in --out "
                        "and redo only the LiteRT exports (their latencies, on a quieter "
                        "machine)")
    return p.parse_args()


def _run(cmd, log, timing=False):
    """Runs `cmd` (niced, except the short `timing` runs that measure latencies: a niced
    process is preempted by the other jobs of a shared machine in the middle of a timed run)."""
    print("$ " + " ".join(cmd), flush=True)
    start = time.time()
    with open(log, "w") as f:
        proc = subprocess.run(cmd if timing else ["nice", "-n", "5", *cmd], stdout=f,
                              stderr=subprocess.STDOUT, cwd=REPO,
                              env=dict(os.environ, PYTHONPATH=REPO), check=False)
    if proc.returncode:
        sys.exit(f"failed ({proc.returncode}), see {log}")
    return time.time() - start


def _search(args, name, extra):
    out = os.path.join(args.out, name)
    if args.reuse and os.path.isfile(os.path.join(out, "arch.json")):
        with open(os.path.join(out, "arch.json")) as f, open(out + ".seconds") as g:
            return json.load(f), float(g.read())
    cmd = [sys.executable, "-m", "enas_tf2.cli.cnn_main", "--config=cifar10_nb201_search",
           f"--data_path={args.data_path}", "--valid_size=1000", f"--output_dir={out}",
           "--reset_output_dir", f"--seed={args.seed}", f"--num_epochs={args.epochs}",
           f"--max_steps_per_epoch={args.steps}", "--batch_size=64", "--log_every=25",
           "--controller_train_steps=20", "--controller_num_aggregate=5",
           "--derive_num_samples=20", "--derive_eval_batches=2", "--max_eval_batches=5",
           "--nopreflight", *extra]
    seconds = _run(cmd, out + ".log")
    with open(out + ".seconds", "w") as g:
        g.write(str(seconds))
    with open(os.path.join(out, "arch.json")) as f:
        return json.load(f), seconds


def _final_and_export(args, name, arch_json):
    out = os.path.join(args.out, f"final_{name}")
    if not (args.reuse and os.path.isfile(os.path.join(out, "result.json"))):
        _run([sys.executable, "-m", "enas_tf2.cli.cnn_main", "--config=cifar10_nb201_final",
              f"--data_path={args.data_path}", "--valid_size=500", f"--output_dir={out}",
              "--reset_output_dir", f"--seed={args.seed}", f"--arch_json={arch_json}",
              f"--num_epochs={args.final_epochs}", f"--child_lr_T_0={args.final_epochs}",
              "--batch_size=64", "--log_every=50", "--nopreflight"], out + ".log")
    export = os.path.join(args.out, f"litert_{name}")
    _run([sys.executable, "-m", "enas_tf2.cli.export_main", f"--output_dir={out}",
          f"--export_dir={export}", "--format=litert", "--overwrite"], export + ".log",
         timing=True)
    with open(os.path.join(export, "litert.json")) as f:
        return json.load(f)


def main():
    args = _args()
    os.makedirs(args.out, exist_ok=True)
    load_start = os.getloadavg()[0]
    table_path = os.path.join(args.out, "nb201_32_latency.json")
    if not (args.reuse and os.path.isfile(table_path)):
        _run([sys.executable, "-m", "enas_tf2.cli.arch_main", "latency-table", table_path,
              "--search_for=nb201", "--image_size=32", f"--threads={args.threads}",
              "--precision=float32", "--check_nets=5"], table_path + ".log", timing=True)
    sys.path.insert(0, REPO)
    from enas_tf2.cost.latency_measure import measure_net
    from enas_tf2.cost.latency_table import LatencyTable
    from enas_tf2.data.specs import ImageSpec
    from enas_tf2.search_space.nb201.config import Nb201Config
    from enas_tf2.search_space.registry import get_space
    table = LatencyTable.load(table_path, (32, 32), "nb201")
    space, spec = get_space("nb201", Nb201Config()), ImageSpec(32, 32, 10)

    def predicted(arch_obj):
        arch = space.arch_from_json(arch_obj)
        return table.predict_ms(space.latency_blocks(arch, spec))

    arch_a, secs_a = _search(args, "search_accuracy", [])
    target_file = os.path.join(args.out, "target.json")
    if args.reuse and os.path.isfile(target_file):
        with open(target_file) as f:
            measured_a = json.load(f)["measured_ms"]
    else:
        measured_a = measure_net(space, space.arch_from_json(arch_a), spec, "float32",
                                 args.threads, 100)
        with open(target_file, "w") as f:
            json.dump({"measured_ms": measured_a}, f)
    target = round(measured_a / 2, 4)
    arch_b, secs_b = _search(args, "search_latency", [
        "--objective=latency", f"--cost_target={target}", "--cost_constraint=hard",
        f"--latency_table={table_path}"])
    rows = {}
    for name, arch, secs in (("accuracy only", arch_a, secs_a), ("latency target", arch_b,
                                                                  secs_b)):
        path = os.path.join(args.out, "search_" + ("accuracy" if arch is arch_a else "latency"),
                            "arch.json")
        lite = _final_and_export(args, "accuracy" if arch is arch_a else "latency", path)
        m = lite["models"]
        rows[name] = {"tokens": arch["tokens"], "search_s": secs,
                      "params": lite["cost"]["params"], "macs_m": lite["cost"]["macs_m"],
                      "predicted_ms": predicted(arch), "float_ms": m["float32"]["latency_ms"],
                      "int8_ms": m["int8"]["latency_ms"], "acc": m["float32"]["accuracy"],
                      "int8_acc": m["int8"]["accuracy"], "drop": lite["int8_accuracy_drop"]}
    errors = [abs(n["error_pct"]) for n in table.validation["nets"]]
    errors += [abs(100 * (r["predicted_ms"] - r["float_ms"]) / r["float_ms"])
               for r in rows.values()]
    print(f"\nnb201 (C=16, N=5), 32x32 CIFAR-10 subset, seed {args.seed}, search {args.epochs} "
          f"epochs x {args.steps} steps, final {args.final_epochs} epochs; LiteRT "
          f"{table.interpreter}, {args.threads} thread(s); target {target} ms = half of "
          f"{measured_a:.3f} ms; load average {load_start:.2f} at start, "
          f"{os.getloadavg()[0]:.2f} at end\n")
    print("| search | derived cell | params | M MACs | table ms | float32 ms | int8 ms | "
          "float32 acc | int8 acc | search s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | `{r['tokens']}` | {r['params']:,} | {r['macs_m']} | "
              f"{r['predicted_ms']:.3f} | {r['float_ms']:.3f} | {r['int8_ms']:.3f} | "
              f"{100 * r['acc']:.1f}% | {100 * r['int8_acc']:.1f}% | {r['search_s']:.0f} |")
    a, b = rows["accuracy only"], rows["latency target"]
    print(f"\ntable error: mean |predicted - measured| {sum(errors) / len(errors):.1f}% over "
          f"{len(errors)} networks (5 random + the 2 exports); constrained meets the target: "
          f"{b['float_ms'] <= target}")
    result = {"latency_ms_unconstrained": round(a["float_ms"], 4),
              "latency_ms_constrained": round(b["float_ms"], 4), "target_ms": target,
              "acc_unconstrained": round(a["acc"], 4), "acc_constrained": round(b["acc"], 4),
              "int8_acc_drop": round(100 * max(a["drop"], b["drop"]), 2),
              "table_error_pct": round(sum(errors) / len(errors), 2)}
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
