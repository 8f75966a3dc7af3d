"""The nb201 space through the console scripts, as a user runs them: one-line errors for a bad
table, the oracle mode, and (slow) a tiny search on the real CIFAR-10 subset killed and resumed,
its true accuracy, report, final training, export and prediction of the found cell. Output
folders are RELATIVE, from another working directory."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from cli_runner import error_lines, run_cli
from conftest import REPO_ROOT

ENV = {"PYTHONPATH": str(REPO_ROOT)}


def test_bad_tables_and_other_spaces_give_one_line_and_exit_2(nb201_table_path, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("index,arch\n1,x\n")
    cases = [
        ("cnn_main", ["--search_for=nb201", "--search_strategy=oracle", "--output_dir=o"],
         "needs --nb201_table"),
        ("cnn_main", ["--search_for=nb201", "--search_strategy=oracle", "--output_dir=o",
                      f"--nb201_table={bad}"], "must start with the header"),
        ("arch_main", ["show", "--search_for=macro", "0 1 0",
                       f"--nb201_table={nb201_table_path}"], "'macro' search space"),
    ]
    for module, args, words in cases:
        proc = run_cli(module, args, cwd=tmp_path, env=ENV, timeout=300)
        assert proc.returncode == 2, proc.stderr
        lines = error_lines(proc)
        assert len(lines) == 1 and words in lines[0], proc.stderr
    assert not (tmp_path / "o").exists()


def test_oracle_mode_writes_the_best_cell_with_its_truth(nb201_table_path, tmp_path):
    from enas_tf2.ranking.nb201_table import Nb201Table
    from enas_tf2.search_space.nb201.arch import Nb201Arch
    proc = run_cli("cnn_main", ["--search_space=nb201", "--search_strategy=oracle_random",
                                f"--nb201_table={nb201_table_path}", "--oracle_samples=50",
                                "--output_dir=runs/oracle", "--seed=3"],
                   cwd=tmp_path, env=ENV, timeout=300)
    assert proc.returncode == 0, proc.stderr
    arch = json.loads((tmp_path / "runs/oracle/arch.json").read_text())
    samples = [json.loads(line) for line in open(tmp_path / "runs/oracle/oracle.jsonl")]
    table = Nb201Table(str(nb201_table_path))
    assert len(samples) == 50
    assert all(table.accuracy(Nb201Arch.from_tokens(s["tokens"])) == s["true_acc"]
               for s in samples)
    best = max(s["true_acc"] for s in samples)
    assert arch["true_accuracy"]["cifar10_test_acc"] == best
    assert table.accuracy(Nb201Arch.from_tokens(arch["tokens"])) == best


TINY = ["--search_for=nb201", "--valid_size=200", "--batch_size=16", "--eval_batch_size=50",
        "--child_num_layers=1", "--child_out_filters=4", "--max_steps_per_epoch=6",
        "--max_eval_batches=1", "--log_every=2", "--steps_per_loop=2",
        "--controller_train_steps=2", "--controller_num_aggregate=2", "--derive_num_samples=3",
        "--num_epochs=3", "--checkpoint_every_steps=2", "--nopreflight"]


@pytest.mark.slow
def test_search_killed_resumed_true_accuracy_final_export_predict(cifar10_dir, nb201_table_path,
                                                                   tmp_path):
    from enas_tf2.ranking.nb201_table import Nb201Table
    from enas_tf2.search_space.nb201.arch import Nb201Arch
    search = [sys.executable, "-m", "enas_tf2.cli.cnn_main", *TINY,
              f"--data_path={cifar10_dir}", "--output_dir=runs/s"]
    env = dict(os.environ, **ENV)
    proc = subprocess.Popen(search, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    marker = tmp_path / "runs/s/ckpt/checkpoint"
    deadline = time.time() + 400
    while not marker.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)                   # kill -9 after the first checkpoint
    assert proc.wait() == -signal.SIGKILL, "the search ended before it could be killed"
    assert not (tmp_path / "runs/s/arch.json").exists()

    rerun = run_cli("cnn_main", [*TINY, f"--data_path={cifar10_dir}", "--output_dir=runs/s",
                                 f"--nb201_table={nb201_table_path}"], cwd=tmp_path, env=ENV)
    assert rerun.returncode == 0, rerun.stderr
    assert "resumed from" in rerun.stderr
    epochs = [json.loads(line)["epoch"] for line in open(tmp_path / "runs/s/progress.jsonl")]
    assert epochs == [1, 2, 3]
    arch = json.loads((tmp_path / "runs/s/arch.json").read_text())
    cell = Nb201Arch.from_tokens(arch["tokens"])
    table = Nb201Table(str(nb201_table_path))
    assert arch["true_accuracy"]["cifar10_test_acc"] == table.accuracy(cell)
    assert arch["true_accuracy"]["index"] == table.index(cell)
    assert "true accuracy of the derived cell" in rerun.stderr

    report = run_cli("arch_main", ["report", "runs/s", f"--nb201_table={nb201_table_path}"],
                     cwd=tmp_path, env=ENV)
    assert report.returncode == 0, report.stderr
    summary = json.loads((tmp_path / "runs/s/summary.json").read_text())
    truth = summary["true_accuracy"]
    assert truth["best"]["cifar10_test_acc"] == table.accuracy(cell)
    assert [e["epoch"] for e in truth["epochs"]] == [1, 2, 3]
    assert all(len(e["accs"]) == e["num"] > 0 for e in truth["epochs"])
    assert 'id="plot-true-acc"' in (tmp_path / "runs/s/report.html").read_text()
    shown = run_cli("arch_main", ["show", "runs/s", f"--nb201_table={nb201_table_path}"],
                    cwd=tmp_path, env=ENV)
    assert f"{table.accuracy(cell):.2f}%" in shown.stdout, shown.stderr

    final = run_cli("cnn_main", ["--config=cifar10_nb201_final", "--arch_json=runs/s/arch.json",
                                 f"--data_path={cifar10_dir}", "--valid_size=200",
                                 "--batch_size=16", "--eval_batch_size=50",
                                 "--child_num_layers=1", "--child_out_filters=4",
                                 "--num_epochs=1", "--max_steps_per_epoch=2",
                                 "--max_eval_batches=1", "--output_dir=runs/f", "--nopreflight"],
                    cwd=tmp_path, env=ENV)
    assert final.returncode == 0, final.stderr
    export = run_cli("export_main", ["--output_dir=runs/f", "--export_dir=exported"],
                     cwd=tmp_path, env=ENV)
    assert export.returncode == 0, export.stderr
    exported = json.loads((tmp_path / "exported/arch.json").read_text())
    assert exported["tokens"] == arch["tokens"]
    from test_export import cifar_png
    _, png = cifar_png(cifar10_dir, tmp_path, index=3)
    predict = run_cli("predict_main", ["--model_dir=exported", "--json", str(png)],
                      cwd=tmp_path, env=ENV)
    assert predict.returncode == 0, predict.stderr
    top = json.loads(predict.stdout)
    probs = [c["probability"] for c in top[0]["top_k"]]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0 + 1e-5
