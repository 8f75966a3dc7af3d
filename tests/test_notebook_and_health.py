"""What a user meets first outside the happy path: a network that learned nothing is flagged
(the final run, its result.json, the export and enas-predict), the API in a notebook shows its
progress without TensorFlow's start-up lines, ``dir(enas_tf2)`` lists the API, `enas-arch show`
builds a run's net with the run's own classes, and epoch lines read at sensible precision."""

import json
import subprocess
import sys

import pytest

from cli_runner import run_cli
from test_faults import ARCH

PUBLISHED = "0 2 1 0 2 1 2 2 4 0 5 0 3 2 6 2"


# Slow (21 s): the default suite keeps its twin, test_ptb_cli's exported language model, whose
# enas-predict prints the health warning the final run recorded and the export carried.
@pytest.mark.slow
def test_a_language_model_that_learned_nothing_is_flagged_and_still_predicts(ptb_dir, tmp_path):
    train_dir, export_dir = tmp_path / "final", tmp_path / "export"
    train = run_cli("ptb_main", [
        f"--child_fixed_arc={PUBLISHED}", "--config=ptb_rnn_final.smoke", f"--data_path={ptb_dir}",
        f"--output_dir={train_dir}", "--num_epochs=1", "--max_steps_per_epoch=3",
        "--child_lstm_hidden_size=16", "--batch_size=8", "--eval_batch_size=8",
        "--max_eval_batches=2", "--child_lr=1e-9"])          # no step moves the weights
    assert train.returncode == 0, train.stderr[-3000:]
    assert "warning: the network's training metric stays at chance" in train.stderr
    result = json.load(open(train_dir / "result.json"))
    assert "vs chance 1e+04" in result["warnings"][0]
    export = run_cli("export_main", [f"--output_dir={train_dir}", f"--export_dir={export_dir}"])
    assert export.returncode == 0, export.stderr[-3000:]
    assert json.load(open(export_dir / "warnings.json"))["warnings"] == result["warnings"]
    predict = run_cli("predict_main", [f"--model_dir={export_dir}", "--text=the market fell"])
    assert predict.returncode == 0, predict.stderr[-3000:]
    assert "warning: the network's training metric stays at chance" in predict.stderr
    assert "perplexity" in predict.stdout


def test_api_in_a_notebook_shows_progress_and_no_startup_lines(cifar10_dir, tmp_path):
    # As a notebook would: only enas_tf2 is imported (TensorFlow comes in through the API).
    script = f"""
import dataclasses, enas_tf2
assert "search" in dir(enas_tf2) and "train_final" in enas_tf2.__all__
cfg = enas_tf2.get_preset("cifar10_micro_final")
cfg = cfg.replace(
    space_config=dataclasses.replace(cfg.space_config, num_layers=2, num_cells=2, out_filters=4,
                                     use_aux_heads=False),
    data=dataclasses.replace(cfg.data, data_path={str(cifar10_dir)!r}, valid_size=0,
                             batch_size=16, eval_batch_size=50),
    run=dataclasses.replace(cfg.run, output_dir="nb", num_epochs=1, max_steps_per_epoch=2,
                            max_eval_batches=1, log_every=2, preflight=False))
enas_tf2.train_final(cfg, enas_tf2.parse_arch("micro", {ARCH!r}, cfg.space_config))
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=600, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "epoch 1/1 step 2/2 loss" in proc.stdout           # progress, by default
    assert "final result:" in proc.stdout
    for noise in ("oneDNN custom operations", "cuda drivers", "cpu_feature_guard"):
        assert noise not in proc.stderr, proc.stderr[-2000:]


# Slow: the default suite keeps the verbose=1 notebook test beside it.
@pytest.mark.slow
def test_api_verbose_0_prints_no_progress(cifar10_dir, tmp_path, capsys):
    import logging

    from enas_tf2 import api
    from test_faults import tiny_final
    logger = logging.getLogger("enas_tf2")
    saved = logger.handlers[:]
    for handler in saved:
        logger.removeHandler(handler)
    try:
        cfg = tiny_final(cifar10_dir, tmp_path / "quiet", 1)
        api.train_final(cfg, api.parse_arch("micro", ARCH, cfg.space_config), verbose=0)
        quiet = capsys.readouterr().out
        cfg = tiny_final(cifar10_dir, tmp_path / "loud", 1)
        api.train_final(cfg, api.parse_arch("micro", ARCH, cfg.space_config))
        loud = capsys.readouterr().out
    finally:
        for handler in saved:
            logger.addHandler(handler)
    assert "epoch 1/1" not in quiet
    assert "epoch 1/1 step 2/2" in loud and not logger.handlers[len(saved):]


def test_show_builds_the_net_with_the_runs_own_classes(tmp_path):
    from enas_tf2.search_space.micro.arch import MicroArch
    run = tmp_path / "flowers_search"
    run.mkdir()
    json.dump(MicroArch.random(5, seed=1).to_json(), open(run / "arch.json", "w"))
    json.dump({"task": {"score": "accuracy", "num_classes": 5}}, open(run / "summary.json", "w"))
    proc = run_cli("arch_main", ["show", "flowers_search"], cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "fixed net for 32x32x3 images, 5 classes" in proc.stdout
    given = run_cli("arch_main", ["show", "flowers_search", "--num_classes=3"],
                    cwd=str(tmp_path))
    assert "3 classes" in given.stdout


def test_epoch_lines_use_sensible_precision():
    from enas_tf2.training.epoch_loop import format_record
    line = format_record({"epoch": 2, "child_loss": 2.302585, "img_per_s": 174.7,
                          "seconds": 7.0, "baseline": 0.000123456, "step": 40})
    assert line == "child_loss 2.3026, img_per_s 174.7, seconds 7, baseline 0.00012346, step 40"
