"""Kill campaign: `kill -9` a real search at random moments, rerun the same command, compare.

One uninterrupted reference run, then the same command in a second folder killed `--kills` times,
each kill followed by the same command, and finally the same command once more to the end. The
moments (`MODES`): during start-up (building, restoring, tracing), at a random time of the
training phases (child steps, controller, evaluation), or aimed at a checkpoint write (the script
polls the checkpoint folder for the temporary files TensorFlow writes and kills the moment a new
one appears). Reported per kill: the global child step the killed process had reached, the step
the next run resumed from, the steps lost, and whether the next run restored exactly the newest
complete checkpoint the kill left. At the end the two run folders are compared: every tensor of
the last checkpoint, `arch.json`, `archs.jsonl` and `progress.jsonl` without its timing fields.

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
import time

import numpy as np

TIMING_FIELDS = ("seconds", "img_per_s", "tok_per_s")
STEP_LINE = re.compile(r"epoch (\d+)/\d+ step (\d+)/(\d+) ")
TRAINING_LINE = re.compile(r"epoch \d+(/\d+ step| controller step|/\d+ done)")
MODES = ("training", "write", "training", "startup", "write", "training", "write", "training",
         "startup", "write")
# The first timestamped line of enas_tf2's log (TensorFlow's import is over).
PROGRESS_LINE = re.compile(r"^\d\d:\d\d:\d\d ", re.M)
RESUMED_LINE = re.compile(r"resumed from \S*/(ckpt-\d+) at epoch \d+ \(step (\d+),")


def command(data_path: str, output_dir: str, args) -> list:
    """The one command both runs use (a tiny real micro search on CIFAR-10)."""
    return ["enas-cnn", "--config=cifar10_micro_search.smoke", f"--data_path={data_path}",
            f"--output_dir={output_dir}", f"--num_epochs={args.epochs}",
            f"--max_steps_per_epoch={args.steps}", "--log_every=1", "--steps_per_loop=1",
            f"--checkpoint_every_steps={args.every}", "--checkpoint_every_secs=1",
            "--deterministic", "--nopreflight", "--controller_train_steps=2",
            "--controller_num_aggregate=2", "--derive_num_samples=4", "--derive_eval_batches=2",
            "--max_eval_batches=2", f"--seed={args.seed}"]


def _temp_files(ckpt_dir: str) -> set:
    return set(glob.glob(os.path.join(ckpt_dir, "*_temp*")))


def _newest_checkpoint(ckpt_dir: str):
    """The checkpoint the index names as newest (None: no complete checkpoint yet)."""
    index = os.path.join(ckpt_dir, "checkpoint")
    if not os.path.exists(index):
        return None
    m = re.search(r'^model_checkpoint_path: "([^"]+)"', open(index).read(), re.M)
    return os.path.basename(m.group(1)) if m else None


def _first_match(pattern, log_path: str) -> bool:
    return bool(pattern.search(open(log_path, errors="replace").read()))


def run_to_end(cmd: list, log_path: str):
    """Runs `cmd` to completion (raises on failure); returns ``(startup, training)`` seconds:
    from its first log line (TensorFlow loaded) to its first training step, and from there to
    the end."""
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        first_log = first_step = None
        while proc.poll() is None:
            if first_log is None and _first_match(PROGRESS_LINE, log_path):
                first_log = time.time()
            if first_step is None and _first_match(STEP_LINE, log_path):
                first_step = time.time()
            time.sleep(0.05)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed with status {proc.returncode}; see {log_path}")
    end = time.time()
    first_step = first_step or end
    return first_step - (first_log or first_step), end - first_step


def run_and_kill(cmd: list, log_path: str, delay: float, mode: str, ckpt_dir: str) -> dict:
    """Starts `cmd` and kills it with SIGKILL. `mode`: ``startup`` = `delay` seconds after its
    first log line (building, restoring, tracing); ``training`` = `delay` seconds after its
    first training-phase line (a step, a controller step or an epoch end); ``write`` = the first
    moment after that line at which a NEW checkpoint temp file exists (within 2 x `delay`).
    Returns what happened."""
    log = open(log_path, "w")
    stale = _temp_files(ckpt_dir)       # left by an earlier kill (the run removes them)
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    started, during_write = None, False
    anchor = PROGRESS_LINE if mode == "startup" else TRAINING_LINE

    def writing() -> bool:
        return bool(_temp_files(ckpt_dir) - stale)

    while proc.poll() is None:
        now = time.time()
        if started is None:
            if _first_match(anchor, log_path):
                started = now
            time.sleep(0.01)
            continue
        if mode == "write":
            if writing():
                during_write = True
                break
            if now - started > 2 * delay:
                break
            time.sleep(0.001)
        else:
            if now - started > delay:
                break
            time.sleep(0.01)
    finished = proc.poll() is not None
    if not finished:
        during_write = during_write or writing()
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    log.close()
    return {"mode": mode, "seconds": round(time.time() - (started or time.time()), 2),
            "during_write": during_write, "finished_before_kill": finished,
            "exit": proc.returncode, "newest_checkpoint": _newest_checkpoint(ckpt_dir)}


def steps_reached(log_path: str, steps_per_epoch: int) -> int:
    """The last global child step a process logged (0 if none)."""
    best = 0
    for line in open(log_path, errors="replace"):
        m = STEP_LINE.search(line)
        if m:
            best = max(best, (int(m.group(1)) - 1) * steps_per_epoch + int(m.group(2)))
    return best


def resumed_step(log_path: str):
    """``(step, checkpoint name)`` a process resumed from (``(None, None)``: it started
    fresh)."""
    for line in open(log_path, errors="replace"):
        m = RESUMED_LINE.search(line)
        if m:
            return int(m.group(2)), m.group(1)
    return None, None


def _rows(path: str) -> list:
    rows = [json.loads(line) for line in open(path)] if os.path.exists(path) else []
    return [{k: v for k, v in r.items() if k not in TIMING_FIELDS} for r in rows]


def compare(a: str, b: str) -> dict:
    """Which parts of run folders `a` and `b` are equal (checkpoint tensors bit for bit)."""
    import tensorflow as tf
    out = {}
    ra, rb = (tf.train.load_checkpoint(tf.train.latest_checkpoint(os.path.join(d, "ckpt")))
              for d in (a, b))
    # save_counter counts checkpoints written, which time-based saving and kills change; it is
    # bookkeeping, not part of the training state.
    names, names_b = (sorted(n for n in r.get_variable_to_shape_map()
                             if "OBJECT_GRAPH" not in n and not n.startswith("save_counter"))
                      for r in (ra, rb))
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
    parser.add_argument("--epochs", type=int, default=5, help="search epochs")
    parser.add_argument("--steps", type=int, default=12, help="child steps per epoch")
    parser.add_argument("--every", type=int, default=2, help="--checkpoint_every_steps")
    parser.add_argument("--seed", type=int, default=0, help="run seed (and kill times)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    shutil.rmtree(args.out, ignore_errors=True)
    os.makedirs(args.out)
    ref_dir, kill_dir = os.path.join(args.out, "reference"), os.path.join(args.out, "killed")
    startup, training = run_to_end(command(args.data_path, ref_dir, args),
                                   os.path.join(args.out, "reference.log"))
    print(f"reference run: {startup:.0f} s from its first log line to its first step, "
          f"{training:.0f} s from there to its end")
    cmd = command(args.data_path, kill_dir, args)
    rows = []

    def judge(row, next_log):
        """What the run after `row`'s kill did: it must restore exactly the newest complete
        checkpoint the kill left (or start fresh when there was none)."""
        step, name = resumed_step(next_log)
        row["next_resumed"] = step or 0
        row["resume_ok"] = row["exit"] in (-signal.SIGKILL, 0) and \
            name == row["newest_checkpoint"]
        row["steps_lost"] = max(0, row["step_reached"] - (step or 0))

    for k in range(args.kills):
        log_path = os.path.join(args.out, f"killed-{k}.log")
        # Random moments: during start-up (building, restoring, tracing), during training
        # (child steps, controller, evaluation: up to 25 % of the reference's training time
        # after the rerun's first training line, so every rerun makes progress), or aimed at
        # a checkpoint write.
        mode = MODES[k % len(MODES)]
        delay = rng.uniform(0.0, startup if mode == "startup" else 0.25 * training)
        event = run_and_kill(cmd, log_path, delay, mode, os.path.join(kill_dir, "ckpt"))
        step, _ = resumed_step(log_path)
        rows.append({"kill": k + 1, **event,
                     "step_reached": max(steps_reached(log_path, args.steps), step or 0)})
        if k:
            judge(rows[-2], log_path)
    final_log = os.path.join(args.out, "final.log")
    run_to_end(cmd, final_log)
    if rows:
        judge(rows[-1], final_log)
    result = compare(ref_dir, kill_dir)
    print(f"\n{'kill':>4} {'moment':>8} {'after s':>7} {'in ckpt write':>13} {'step reached':>12} "
          f"{'next run resumed at':>19} {'steps lost':>10} {'resumed':>7}")
    for r in rows:
        print(f"{r['kill']:>4} {r['mode']:>8} {r['seconds']:>7.1f} {str(r['during_write']):>13} "
              f"{r['step_reached']:>12} {r.get('next_resumed', 0):>19} "
              f"{r.get('steps_lost', 0):>10} {str(r['resume_ok']):>7}")
    print(f"\ncompared with the uninterrupted run: {json.dumps(result)}")
    print(f"kills during a checkpoint write: {sum(r['during_write'] for r in rows)}; "
          f"--checkpoint_every_steps={args.every}")
    summary = {"kills": sum(not r["finished_before_kill"] for r in rows),
               "resumed": sum(r["resume_ok"] for r in rows if not r["finished_before_kill"]),
               "max_steps_lost": max([r.get("steps_lost", 0) for r in rows] or [0]),
               "identical": result["identical"]}
    print("RESULT " + json.dumps(summary))     # exactly the keys issue 13 names


if __name__ == "__main__":
    main()
