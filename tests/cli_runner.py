"""Runs the console scripts in subprocesses, as a user would, with tiny settings."""

import os
import subprocess
import sys

# A 4-cell micro net (N=2: reduction cells at 0 and 1) with 4 filters: traces fast, runs anywhere.
TINY_SEARCH = [
    "--search_for=micro", "--valid_size=200", "--batch_size=16", "--eval_batch_size=50",
    "--child_num_layers=2", "--child_out_filters=4", "--child_num_cells=2",
    "--max_steps_per_epoch=3", "--max_eval_batches=1", "--log_every=2",
    "--controller_train_steps=2", "--controller_num_aggregate=2", "--derive_num_samples=3",
]


def run_cli(module: str, args, timeout: int = 600, env=None, **kwargs):
    """`python -m enas_tf2.cli.<module> ARGS`; returns the CompletedProcess (text mode)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", f"enas_tf2.cli.{module}", *args],
                          capture_output=True, text=True, timeout=timeout, env=full_env, **kwargs)


def error_lines(proc) -> list:
    """The `error: ...` lines a CLI printed on stderr."""
    return [line for line in proc.stderr.splitlines() if line.startswith("error:")]
