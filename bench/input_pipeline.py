"""Benchmark of the streaming input pipeline: throughput at 160/224 px and memory vs dataset size.

Steps:
1. Convert the real flower photos (300 JPEGs, 5 classes) with `enas_tf2.data.convert.convert.convert`,
   all into the train split (reused if already converted).
2. Replicate the train shard by symlinks to 3,000 and to 30,000 records, each with its own
   ``manifest.json`` listing the copies (what a 10x / 100x larger dataset looks like to the reader).
3. For each dataset size, in its own subprocess (so peak RSS figures are independent), build the
   training dataset with `build_data`, stream warm-up batches, then time a fixed number of
   training batches at 160 px and at 224 px; report images/s (wall), images per CPU-second of the
   process (less sensitive to other jobs on the machine) and the process's peak RSS (VmHWM).
4. Print a table and, as the LAST line, ``RESULT {json}``.

Run from the repository root:  python bench/input_pipeline.py
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_FLOWERS = os.path.join(REPO_ROOT, "..", "shared", "data", "images", "flower_photos_subset")
DEFAULT_WORK_DIR = os.path.join(REPO_ROOT, "bench", "out", "input_pipeline")


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options (see ``--help``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flowers", default=DEFAULT_FLOWERS, help="image folder to convert")
    parser.add_argument("--work_dir", default=DEFAULT_WORK_DIR, help="conversion + replicas")
    parser.add_argument("--records", default="3000,30000", help="replicated dataset sizes")
    parser.add_argument("--sizes", default="160,224", help="image sizes to stream")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--batches", type=int, default=40, help="timed batches per size")
    parser.add_argument("--warmup", type=int, default=8, help="untimed batches per size first")
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)   # internal: one dataset
    return parser.parse_args(argv)


# ---------------------------------------------------------------- preparation (parent process)


def convert_flowers(flowers: str, work_dir: str) -> str:
    """Converts the photos once into ``work_dir/converted`` (train split only); returns it."""
    out = os.path.join(work_dir, "converted")
    if os.path.isfile(os.path.join(out, "manifest.json")):
        return out
    shutil.rmtree(out, ignore_errors=True)
    from enas_tf2.data.convert.convert import convert   # pylint: disable=import-outside-toplevel
    convert("image_folder", flowers, out, valid_fraction=0.0, test_fraction=0.0, seed=0)
    return out


def replicate(converted: str, work_dir: str, target: int) -> str:
    """A folder whose manifest lists the converted train shards, symlinked ``copies`` times so
    that it holds at least ``target`` records; returns the folder."""
    with open(os.path.join(converted, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    train = manifest["splits"]["train"]
    copies = -(-target // train["count"])                      # ceil
    out = os.path.join(work_dir, f"replica_{target}")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    shutil.copy(os.path.join(converted, "labels.json"), out)
    shards = []
    total = copies * len(train["shards"])
    for copy in range(copies):
        for k, shard in enumerate(train["shards"]):
            index = copy * len(train["shards"]) + k
            name = f"train-{index:05d}-of-{total:05d}.tfrecord"
            os.symlink(os.path.abspath(os.path.join(converted, shard["name"])),
                       os.path.join(out, name))
            shards.append(dict(shard, name=name))
    manifest["splits"] = {"train": dict(train, count=copies * train["count"], shards=shards)}
    with open(os.path.join(out, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1)
    return out


# ---------------------------------------------------------------- measurement (child process)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mb() -> float:
    with open("/proc/self/status", encoding="utf-8") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def measure(data_dir: str, args: argparse.Namespace) -> dict:
    """Streams training batches of ``data_dir`` at each size; returns rates and peak RSS."""
    from enas_tf2.configs.base import DataConfig   # pylint: disable=import-outside-toplevel
    from enas_tf2.data.images.pipeline import build_data   # pylint: disable=import-outside-toplevel

    result = {"sizes": {}}
    for size in [int(s) for s in args.sizes.split(",")]:
        bundle = build_data(DataConfig(dataset="tfrecord", data_path=data_dir,
                                       image_size=(size, size), batch_size=args.batch_size))
        batches = iter(bundle.train)
        for _ in range(args.warmup):
            next(batches)
        wall, cpu = time.perf_counter(), _cpu_seconds()
        for _ in range(args.batches):
            images, _ = next(batches)
        images.numpy()
        wall, cpu = time.perf_counter() - wall, _cpu_seconds() - cpu
        count = args.batches * args.batch_size
        result["sizes"][size] = {"img_per_s": count / wall, "img_per_cpu_s": count / cpu,
                                 "load": os.getloadavg()[0]}
        result["records"] = bundle.counts["train"]
        del batches, bundle
    result["rss_mb"] = _peak_rss_mb()
    return result


def run_child(data_dir: str, args: argparse.Namespace) -> dict:
    """Runs `measure` for ``data_dir`` in a fresh Python process and returns its result."""
    command = [sys.executable, os.path.abspath(__file__), f"--child={data_dir}",
               f"--sizes={args.sizes}", f"--batch_size={args.batch_size}",
               f"--batches={args.batches}", f"--warmup={args.warmup}"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-3000:])
        raise SystemExit(f"measurement of {data_dir} failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    """Prepares the datasets, measures each in its own process, prints the table and RESULT."""
    args = parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.child, args)))
        return
    os.makedirs(args.work_dir, exist_ok=True)
    started = time.perf_counter()
    converted = convert_flowers(args.flowers, args.work_dir)
    print(f"converted {args.flowers} -> {converted} ({time.perf_counter() - started:.1f} s)")
    runs = {}
    for target in [int(r) for r in args.records.split(",")]:
        runs[target] = run_child(replicate(converted, args.work_dir, target), args)

    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"\nbatch {args.batch_size}, {args.batches} timed batches after {args.warmup} warm-up, "
          f"{os.cpu_count()} CPUs shared with other jobs (load = 1-min load average)")
    header = (f"{'records':>8} {'px':>4} {'img/s':>8} {'img/cpu-s':>10} {'load':>5} "
              f"{'peak RSS MB':>12}")
    print(header)
    print("-" * len(header))
    for target, run in runs.items():
        for size in sizes:
            row = run["sizes"][str(size)]
            print(f"{run['records']:>8} {size:>4} {row['img_per_s']:>8.0f} "
                  f"{row['img_per_cpu_s']:>10.0f} {row['load']:>5.1f} {run['rss_mb']:>12.0f}")
    small, large = min(runs), max(runs)
    result = {f"img_per_s_{size}": round(runs[large]["sizes"][str(size)]["img_per_s"], 1)
              for size in sizes}
    result.update({"rss_mb_3k": round(runs[small]["rss_mb"], 1),
                   "rss_mb_30k": round(runs[large]["rss_mb"], 1)})
    print(f"rss ratio {runs[large]['rss_mb'] / runs[small]['rss_mb']:.3f}; images/s from the "
          f"{runs[large]['records']}-record run")
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
