"""The pre-flight's projected epoch time against the measured one, on the real CIFAR-10 subset:
a search and a final training with full epochs (every step of the 3,000 training images), the
projection printed at the start of the run compared with the second epoch's measured seconds
(the first one also compiles). Within 25 %."""

import json
import os
import re

import pytest

from cli_runner import run_cli

SEARCH = ["--search_for=micro", "--valid_size=1000", "--batch_size=32", "--eval_batch_size=100",
          "--child_num_layers=2", "--child_out_filters=8", "--child_num_cells=3",
          "--max_eval_batches=3", "--log_every=50", "--controller_train_steps=5",
          "--controller_num_aggregate=4", "--derive_num_samples=4", "--derive_eval_batches=2",
          "--num_epochs=2"]
FINAL = ["--config=cifar10_micro_final", "--valid_size=1000", "--batch_size=32",
         "--eval_batch_size=100", "--child_num_layers=2", "--child_out_filters=8",
         "--child_num_cells=2", "--child_fixed_arc=0 1 1 0 2 4 0 2 1 2 1 0 0 2 1 1",
         "--nochild_use_aux_heads", "--max_eval_batches=3", "--log_every=50", "--num_epochs=2"]


def projected_and_measured(proc, folder):
    """(projected seconds per epoch, measured seconds of epoch 2)."""
    match = re.search(r"pre-flight: projected ([\d.]+)(s|m\d+s) per epoch", proc.stderr)
    assert match, proc.stderr[-3000:]
    value, unit = match.groups()
    projected = float(value) if unit == "s" else float(value) * 60 + float(unit[1:-1])
    rows = [json.loads(line) for line in open(os.path.join(folder, "progress.jsonl"))]
    return projected, rows[1]["seconds"]


@pytest.mark.slow   # two runs of 2 full epochs on the CIFAR-10 subset (~5 min on 2 cores)
@pytest.mark.parametrize("kind,args", [("search", SEARCH), ("final", FINAL)])
def test_projected_epoch_time_within_25_percent(cifar10_dir, tmp_path, kind, args):
    folder = str(tmp_path / kind)
    proc = run_cli("cnn_main", args + [f"--data_path={cifar10_dir}", f"--output_dir={folder}"],
                   timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    projected, measured = projected_and_measured(proc, folder)
    print(f"{kind}: projected {projected:.1f} s per epoch, measured {measured:.1f} s")
    assert abs(projected - measured) <= 0.25 * measured
