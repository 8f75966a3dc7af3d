"""Benchmark: a micro search and a final training on real photos at 224 px and 320x160, batch 32,
with the CIFAR stem vs the downsampling (imagenet) stem: peak RSS and seconds per step.

Steps:
1. Convert the real flower photos (300 JPEGs, 5 classes; 80/10/10 % train/valid/test) with
   `enas_tf2.data.convert.convert.convert` into ``--work_dir`` (reused when already there).
2. For every (image size, stem, phase) in a FRESH subprocess (so each peak RSS is its own): build
   the run exactly as `enas_tf2.api.search` / `train_final` do (`SearchLoop` / `FinalLoop` on the
   streamed ``tfrecord`` folder, the child settings of ``cifar10_micro_search``: 6 layers,
   20 filters, 5 nodes; final training adds the aux head and drop path of the final preset), time
   one first step (trace + run) and then ``--steps`` child training steps (wall and process CPU
   seconds), then run one whole short epoch of the loop (``--epoch_steps`` child steps, for a
   search 2 x 2 controller samples on reward batches, ``--eval_batches`` validation and test
   batches of ``--eval_batch_size`` images, the derive step, checkpoint and report) so the peak
   RSS (``VmHWM``) covers everything a run holds at once.
3. Print a table and, as the LAST line, ``RESULT {json}``.

Run from the repository root:   python bench/large_images.py
Quicker look:                   python bench/large_images.py --sizes 224 --steps 3

The CIFAR stem runs its first stage of cells at the full image size: at 224 px and batch 32 the
search was killed at 12.7 GB. ``--cifar_batch_size`` (default 4) keeps its subprocesses within a
shared machine's memory; the ratio ``rss_ratio_cifar_vs_imagenet_stem`` compares both stems at
that same batch size (the imagenet stem runs at it too, besides ``--batch_size``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_FLOWERS = os.path.join(REPO_ROOT, "..", "shared", "data", "images", "flower_photos_subset")
DEFAULT_WORK_DIR = os.path.join(REPO_ROOT, "bench", "out", "large_images")


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options (see ``--help``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flowers", default=DEFAULT_FLOWERS, help="image folder to convert")
    parser.add_argument("--work_dir", default=DEFAULT_WORK_DIR)
    parser.add_argument("--sizes", default="224,320x160", help="image sizes, HxW or one side")
    parser.add_argument("--stems", default="imagenet,cifar")
    parser.add_argument("--phases", default="search,final")
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--cifar_batch_size", type=int, default=4,
                        help="batch of the CIFAR-stem runs (32 needs > 12 GB at 224 px)")
    parser.add_argument("--eval_batch_size", type=int, default=100,
                        help="validation/test batch (100 = the CLI default)")
    parser.add_argument("--steps", type=int, default=10, help="timed child steps after the first")
    parser.add_argument("--epoch_steps", type=int, default=2, help="child steps of the short epoch")
    parser.add_argument("--eval_batches", type=int, default=1)
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)   # internal: one variant
    return parser.parse_args(argv)


def parse_size(text: str):
    parts = [int(p) for p in text.lower().split("x")]
    return (parts[0], parts[0]) if len(parts) == 1 else (parts[0], parts[1])


def size_key(size) -> str:
    return str(size[0]) if size[0] == size[1] else f"{size[0]}x{size[1]}"


# ---------------------------------------------------------------- preparation (parent process)


def convert_flowers(flowers: str, work_dir: str) -> str:
    """Converts the photos once into ``work_dir/converted`` (default 80/10/10 split)."""
    out = os.path.join(work_dir, "converted")
    if os.path.isfile(os.path.join(out, "manifest.json")):
        return out
    shutil.rmtree(out, ignore_errors=True)
    from enas_tf2.data.convert.convert import convert   # pylint: disable=import-outside-toplevel
    convert("image_folder", flowers, out, seed=0)
    return out


# ---------------------------------------------------------------- one variant (child process)


def _vm_hwm_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _experiment(spec: dict):
    import dataclasses  # pylint: disable=import-outside-toplevel
    from enas_tf2.configs.presets import get_preset  # pylint: disable=import-outside-toplevel
    preset = "images_micro_search" if spec["phase"] == "search" else "images_micro_final"
    cfg = get_preset(preset)
    space = dataclasses.replace(cfg.space_config, num_layers=6, out_filters=20, num_cells=5,
                                stem=spec["stem"])
    data = dataclasses.replace(cfg.data, data_path=spec["data"], image_size=tuple(spec["size"]),
                               batch_size=spec["batch"], eval_batch_size=spec["eval_batch"])
    controller = dataclasses.replace(cfg.controller, train_steps=2, num_aggregate=2)
    run = dataclasses.replace(cfg.run, output_dir=spec["out"], num_epochs=1,
                              max_steps_per_epoch=spec["epoch_steps"],
                              max_eval_batches=spec["eval_batches"], derive_num_samples=2,
                              log_every=spec["epoch_steps"], reset_output_dir=True)
    return cfg.replace(space_config=space, data=data, controller=controller, run=run)


def run_variant(spec: dict) -> dict:
    """Builds one run, times its steps, runs a short epoch; returns the figures."""
    # pylint: disable=import-outside-toplevel
    import tensorflow as tf
    from enas_tf2.search_space.micro.arch import MicroArch
    from enas_tf2.search_space.registry import get_space
    from enas_tf2.tasks.registry import get_task
    from enas_tf2.training.run_context import RunContext
    from enas_tf2.training.strategy import make_strategy

    cfg = _experiment(spec)
    strategy = make_strategy(cfg.run.strategy, cfg.run.num_cpu_devices)
    space = get_space(cfg.space, cfg.space_config)
    task = get_task(cfg.task, cfg.data, cfg.optim)
    ctx = RunContext(cfg.run, strategy)
    if spec["phase"] == "search":
        from enas_tf2.training.search_loop import SearchLoop
        loop = SearchLoop(cfg, space, task, ctx)
        train_loop, iterator = loop.state.steps.train_loop, loop.train_iter
        model = loop.state.child
    else:
        from enas_tf2.training.final_loop import FinalLoop
        arch = MicroArch.from_tokens("0 2 0 0 0 4 0 1 0 4 1 1 1 0 0 1 0 2 1 1 "
                                     "1 0 1 0 0 3 0 2 1 1 3 1 1 0 0 4 0 3 1 1")
        loop = FinalLoop(cfg, space, task, arch, ctx)
        train_loop, iterator = loop.steps.train_loop, loop.train_iter
        model = loop.net
    stages = space.describe_stages(loop.data.input_spec)
    start, cpu = time.time(), time.process_time()
    train_loop(iterator, tf.constant(1))
    first_s = time.time() - start
    rss_after_first = _vm_hwm_mb()
    start, cpu = time.time(), time.process_time()
    train_loop(iterator, tf.constant(spec["steps"]))
    step_s = (time.time() - start) / spec["steps"]
    step_cpu_s = (time.process_time() - cpu) / spec["steps"]
    rss_steps = _vm_hwm_mb()
    load = os.getloadavg()[0]
    loop.run()
    return {"first_step_s": round(first_s, 2), "step_s": round(step_s, 3),
            "step_cpu_s": round(step_cpu_s, 3), "rss_mb_first_step": round(rss_after_first),
            "rss_mb_steps": round(rss_steps), "rss_mb": round(_vm_hwm_mb()), "load": load,
            "params": int(sum(int(v.shape.num_elements()) for v in model.trainable_variables)),
            "stages": stages}


# ---------------------------------------------------------------- parent


def measure(spec: dict) -> dict:
    """Runs one variant in a fresh interpreter; its figures, or an ``error`` entry."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")   # as the CLIs do (bench/README.md, oneDNN)
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child",
                           json.dumps(spec)], capture_output=True, text=True, env=env,
                          check=False)
    for line in reversed(proc.stdout.strip().splitlines()):
        if line.startswith("VARIANT "):
            return json.loads(line[len("VARIANT "):])
    tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
    return {"error": f"exit {proc.returncode}: {tail[:200]}"}


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.child:
        print("VARIANT " + json.dumps(run_variant(json.loads(args.child))), flush=True)
        return
    os.makedirs(args.work_dir, exist_ok=True)
    data = convert_flowers(args.flowers, args.work_dir)
    rows = []
    for size in [parse_size(s) for s in args.sizes.split(",")]:
        for stem in args.stems.split(","):
            batches = [args.cifar_batch_size] if stem == "cifar" else sorted(
                {args.batch_size, args.cifar_batch_size}, reverse=True)
            for batch in batches:
                for phase in args.phases.split(","):
                    spec = {"phase": phase, "stem": stem, "size": list(size), "batch": batch,
                            "eval_batch": args.eval_batch_size, "data": data,
                            "steps": args.steps, "epoch_steps": args.epoch_steps,
                            "eval_batches": args.eval_batches,
                            "out": os.path.join(args.work_dir, "runs",
                                                f"{phase}_{stem}_{size_key(size)}_{batch}")}
                    result = measure(spec)
                    rows.append(dict(spec, **result))
                    print(_row(rows[-1]), flush=True)
    print()
    described = set()
    for row in rows:
        key = (row["phase"], row["stem"], size_key(row["size"]))
        if "stages" in row and key not in described:     # once per (phase, stem, size)
            described.add(key)
            print(f"{' '.join(key)}: " + "; ".join(row["stages"]))
    print(f"load average at end: {', '.join(f'{v:.2f}' for v in os.getloadavg())}; "
          f"TF_ENABLE_ONEDNN_OPTS={os.environ.get('TF_ENABLE_ONEDNN_OPTS', '1')}")
    figures = summary(rows, args)
    print("figures " + json.dumps(figures))
    # The RESULT line holds exactly the figures issue 14 names (those this run measured).
    print("RESULT " + json.dumps({k: figures[k] for k in RESULT_KEYS if k in figures}))


RESULT_KEYS = ("rss_mb_search_224", "rss_mb_final_224", "step_s_search_224",
               "rss_ratio_cifar_vs_imagenet_stem")


HEADER = (f"{'phase':6s} {'stem':8s} {'size':>7s} {'batch':>5s} {'first_s':>7s} {'step_s':>7s} "
          f"{'cpu_s':>6s} {'RSS MB steps':>12s} {'RSS MB run':>10s} {'load':>5s} {'params':>9s}")


def _row(row: dict) -> str:
    if not hasattr(_row, "printed"):
        _row.printed = True
        print(HEADER + "\n" + "-" * len(HEADER))
    head = f"{row['phase']:6s} {row['stem']:8s} {size_key(row['size']):>7s} {row['batch']:5d}"
    if "error" in row:
        return f"{head} {row['error']}"
    return (f"{head} {row['first_step_s']:7.1f} {row['step_s']:7.3f} {row['step_cpu_s']:6.2f} "
            f"{row['rss_mb_steps']:12.0f} {row['rss_mb']:10.0f} {row['load']:5.1f} "
            f"{row['params']:9,d}")


def summary(rows, args) -> dict:
    """Every summary figure (the ``figures`` line; RESULT keeps `RESULT_KEYS` of them): figures
    of the imagenet stem at --batch_size, and RSS ratios at the ratio batch size."""
    def pick(phase, stem, size, batch):
        for row in rows:
            if (row["phase"], row["stem"], tuple(row["size"]), row["batch"]) == (
                    phase, stem, size, batch) and "error" not in row:
                return row
        return None

    out = {}
    for size in [parse_size(s) for s in args.sizes.split(",")]:
        key = size_key(size)
        for phase in args.phases.split(","):
            row = pick(phase, "imagenet", size, args.batch_size)
            if row:
                out[f"rss_mb_{phase}_{key}"] = row["rss_mb"]
                out[f"step_s_{phase}_{key}"] = row["step_s"]
        cifar = pick("search", "cifar", size, args.cifar_batch_size)
        imagenet = pick("search", "imagenet", size, args.cifar_batch_size)
        if cifar and imagenet:
            name = "rss_ratio_cifar_vs_imagenet_stem" + ("" if key == "224" else f"_{key}")
            out[name] = round(cifar["rss_mb"] / imagenet["rss_mb"], 2)
            out[f"step_ratio_cifar_vs_imagenet_stem_{key}"] = round(
                cifar["step_s"] / imagenet["step_s"], 2)
        # Memory per image: the RSS slope between the two batch sizes of the imagenet stem.
        for phase in args.phases.split(","):
            big = pick(phase, "imagenet", size, args.batch_size)
            small = pick(phase, "imagenet", size, args.cifar_batch_size)
            if big and small and args.batch_size != args.cifar_batch_size:
                out[f"mb_per_image_{phase}_{key}"] = round(
                    (big["rss_mb"] - small["rss_mb"]) / (args.batch_size - args.cifar_batch_size),
                    1)
    out["batch_size"], out["ratio_batch_size"] = args.batch_size, args.cifar_batch_size
    return out


if __name__ == "__main__":
    main()
