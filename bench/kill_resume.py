"""Kill campaign: `kill -9` a real search at random moments, rerun the same command, compare.

One uninterrupted reference run, then the same command in a second folder killed `--kills` times
(every other kill is aimed at a checkpoint write: the script polls the checkpoint folder for the
temporary files TensorFlow writes and kills the moment one appears), each kill followed by the
same command, and finally the same command once more to the end. Reported per kill: the global
child step the killed process had reached, the step the rerun resumed from, the steps lost, and
whether the rerun resumed. At the end the two run folders are compared: every tensor of the last
checkpoint, `arch.json`, `archs.jsonl` and `progress.jsonl` without its timing fields.

    python bench/kill_resume.py --data_path=PATH/cifar-10-batches-py --out=bench/out/kill_resume

The last line is ``RESULT {"kills": 10, "resumed": ..., "max_steps_lost": ...,
"identical": true|false}``.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np

TIMING_FIELDS = ("seconds", "img_per_s", "tok_per_s")
STEP_LINE = re.compile(r"epoch (\d+)/\d+ step (\d+)/(\d+) ")
PROGRESS_LINE = re.compile(r"\d\d:\d\d:\d\d epoch \d+")
RESUMED_LINE = re.compile(r"resumed from \S+ at epoch \d+ \(step (\d+),")


def command(data_path: str, output_dir: str, args) -> list:
    """The one command both runs use (a tiny real micro search on CIFAR-10)."""
    return ["enas-cnn", "--config=cifar10_micro_search.smoke", f"--data_path={data_path}",
            f"--output_dir={output_dir}", f"--num_epochs={args.epochs}",
            f"--max_steps_per_epoch={args.steps}", "--log_every=1", "--steps_per_loop=1",
            f"--checkpoint_every_steps={args.every}", "--checkpoint_every_secs=0",
            "--deterministic", "--nopreflight", "--controller_train_steps=2",
            "--controller_num_aggregate=2", "--derive_num_samples=4", "--derive_eval_batches=2",
            "--max_eval_batches=2", f"--seed={args.seed}"]


def run_to_end(cmd: list, log_path: str) -> float:
    """Runs `cmd` to completion (raises on failure); returns the seconds from its first
    progress line to its end (the part of the run a kill can hit after start-up)."""
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        started = None
        while proc.poll() is None:
            if started is None and PROGRESS_LINE.search(open(log_path, errors="replace").read()):
                started = time.time()
            time.sleep(0.05)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed with status {proc.returncode}; see {log_path}")
    return time.time() - (started or time.time())


def _writing(ckpt_dir: str) -> bool:
    return bool(glob.glob(os.path.join(ckpt_dir, "*_temp*")))


def run_and_kill(cmd: list, log_path: str, delay: float, aim_at_write: bool,
                 ckpt_dir: str) -> dict:
    """Starts `cmd` and kills it with SIGKILL `delay` seconds after it logged its first
    progress line (start-up excluded: TensorFlow's import and tracing take most of a short run),
    or, with `aim_at_write`, the first moment after that a checkpoint write is seen (within
    3 x `delay`); returns what happened."""
    log = open(log_path, "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    started, during_write = None, False
    while proc.poll() is None:
        now = time.time()
        if started is None:
            if PROGRESS_LINE.search(open(log_path, errors="replace").read()):
                started = now
            time.sleep(0.02)
            continue
        if aim_at_write:
            if _writing(ckpt_dir):
                during_write = True
                break
            if now - started > 3 * delay:
                break
            time.sleep(0.001)
        else:
            if now - started > delay:
                break
            time.sleep(0.01)
    finished = proc.poll() is not None
    if not finished:
        during_write = during_write or _writing(ckpt_dir)
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    log.close()
    return {"seconds": round(time.time() - (started or time.time()), 2),
            "during_write": during_write, "finished_before_kill": finished,
            "exit": proc.returncode}


def steps_reached(log_path: str, steps_per_epoch: int) -> int:
    """The last global child step a process logged (0 if none)."""
    best = 0
    for line in open(log_path, errors="replace"):
        m = STEP_LINE.search(line)
        if m:
            best = max(best, (int(m.group(1)) - 1) * steps_per_epoch + int(m.group(2)))
    return best


def resumed_step(log_path: str):
    """The step a process resumed from (None: it started fresh)."""
    for line in open(log_path, errors="replace"):
        m = RESUMED_LINE.search(line)
        if m:
            return int(m.group(1))
    return None


def _rows(path: str) -> list:
    rows = [json.loads(line) for line in open(path)] if os.path.exists(path) else []
    return [{k: v for k, v in r.items() if k not in TIMING_FIELDS} for r in rows]


def compare(a: str, b: str) -> dict:
    """Which parts of run folders `a` and `b` are equal (checkpoint tensors bit for bit)."""
    import tensorflow as tf
    out = {}
    ra, rb = (tf.train.load_checkpoint(tf.train.latest_checkpoint(os.path.join(d, "ckpt")))
              for d in (a, b))
    names = sorted(n for n in ra.get_variable_to_shape_map() if "OBJECT_GRAPH" not in n)
    names_b = sorted(n for n in rb.get_variable_to_shape_map() if "OBJECT_GRAPH" not in n)
    differing = [n for n in names if n not in names_b or
                 not np.array_equal(ra.get_tensor(n), rb.get_tensor(n))]
    out["checkpoint_tensors"] = len(names)
    out["checkpoint_identical"] = names == names_b and not differing
    out["checkpoint_differing"] = differing[:5]
    arch = [json.load(open(os.path.join(d, "arch.json"))) for d in (a, b)]
    out["arch_identical"] = arch[0] == arch[1]
    for name in ("progress.jsonl", "archs.jsonl"):
        out[name.split(".")[0] + "_identical"] = _rows(os.path.join(a, name)) == \
            _rows(os.path.join(b, name))
    out["identical"] = all(v for k, v in out.items() if k.endswith("_identical"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data_path", required=True, help="CIFAR-10 python batches folder")
    parser.add_argument("--out", default="bench/out/kill_resume", help="work folder (wiped)")
    parser.add_argument("--kills", type=int, default=10, help="kills of the second run")
    parser.add_argument("--epochs", type=int, default=4, help="search epochs")
    parser.add_argument("--steps", type=int, default=10, help="child steps per epoch")
    parser.add_argument("--every", type=int, default=2, help="--checkpoint_every_steps")
    parser.add_argument("--seed", type=int, default=0, help="run seed (and kill times)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    shutil.rmtree(args.out, ignore_errors=True)
    os.makedirs(args.out)
    ref_dir, kill_dir = os.path.join(args.out, "reference"), os.path.join(args.out, "killed")
    ref_seconds = run_to_end(command(args.data_path, ref_dir, args),
                             os.path.join(args.out, "reference.log"))
    print(f"reference run: {ref_seconds:.0f} s from its first progress line to its end")
    cmd = command(args.data_path, kill_dir, args)
    rows, previous = [], None
    for k in range(args.kills):
        log_path = os.path.join(args.out, f"killed-{k}.log")
        # Random moments of the run: 5-30 % of the reference's training time after the
        # rerun's start-up, so that each rerun makes some progress before its kill.
        event = run_and_kill(cmd, log_path, rng.uniform(0.05, 0.3) * ref_seconds,
                             aim_at_write=k % 2 == 1,
                             ckpt_dir=os.path.join(kill_dir, "ckpt"))
        reached = steps_reached(log_path, args.steps)
        resumed = resumed_step(log_path)
        row = {"kill": k + 1, **event, "step_reached": reached,
               "resumed_from": resumed if resumed is not None else 0,
               # A rerun "worked" when it restored the newest checkpoint the killed process
               # had written (or started fresh before any) and went on without an error.
               "resume_ok": event["exit"] in (-signal.SIGKILL, 0)}
        if previous is not None:
            previous["next_resumed"] = row["resumed_from"]
            previous["steps_lost"] = max(0, previous["step_reached"] - row["resumed_from"])
            previous["resume_ok"] = previous["resume_ok"] and (
                resumed is not None or previous["step_reached"] < args.every)
        rows.append(row)
        previous = row
    final_log = os.path.join(args.out, "final.log")
    run_to_end(cmd, final_log)
    resumed = resumed_step(final_log)
    if previous is not None:
        previous["next_resumed"] = resumed or 0
        previous["steps_lost"] = max(0, previous["step_reached"] - (resumed or 0))
        previous["resume_ok"] = previous["resume_ok"] and (
            resumed is not None or previous["step_reached"] < args.every)
    result = compare(ref_dir, kill_dir)
    print(f"\n{'kill':>4} {'after s':>7} {'in ckpt write':>13} {'step reached':>12} "
          f"{'next run resumed at':>19} {'steps lost':>10} {'resumed':>7}")
    for r in rows:
        print(f"{r['kill']:>4} {r['seconds']:>7.1f} {str(r['during_write']):>13} "
              f"{r['step_reached']:>12} {r.get('next_resumed', 0):>19} "
              f"{r.get('steps_lost', 0):>10} {str(r['resume_ok']):>7}")
    print(f"\ncompared with the uninterrupted run: {json.dumps(result)}")
    summary = {"kills": len(rows), "resumed": sum(r["resume_ok"] for r in rows),
               "kills_during_checkpoint_write": sum(r["during_write"] for r in rows),
               "max_steps_lost": max([r.get("steps_lost", 0) for r in rows] or [0]),
               "checkpoint_every_steps": args.every, "identical": result["identical"]}
    print("RESULT " + json.dumps(summary))


if __name__ == "__main__":
    main()
