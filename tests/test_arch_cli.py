"""`enas-arch` as a user runs it: show, render, diff and report in subprocesses, bad input as one
`error:` line with exit status 2, and (slow) all four on a real micro search of CIFAR-10."""

import json
import os
import re

import pytest
from PIL import Image

from cli_runner import TINY_SEARCH, error_lines, run_cli

PUBLISHED = ("0 2 0 0 0 4 0 1 0 4 1 1 1 0 0 1 0 2 1 1 "
             "1 0 1 0 0 3 0 2 1 1 3 1 1 0 0 4 0 3 1 1")


def _arch_file(path, tokens=PUBLISHED):
    normal = [list(map(int, tokens.split()[i:i + 4])) for i in range(0, 20, 4)]
    reduce = [list(map(int, tokens.split()[i:i + 4])) for i in range(20, 40, 4)]
    with open(path, "w") as f:
        json.dump({"search_space": "micro", "normal": normal, "reduce": reduce}, f)
    return str(path)


def _table(stdout):
    """Rows of the layer table: name -> (output shape, params)."""
    rows = {}
    for line in stdout.splitlines():
        m = re.match(r"^(\S+)\s+\S+\s+(\d+(?:x\d+)+)\s+([\d,]+)$", line)
        if m:
            rows[m.group(1)] = (m.group(2), int(m.group(3).replace(",", "")))
    return rows


def test_show_prints_nodes_shapes_and_parameters(tmp_path):
    path = _arch_file(tmp_path / "arch.json")
    proc = run_cli("arch_main", ["show", path, "--set", "num_layers=2", "--set",
                                 "child_out_filters=8", "--depth=1"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "n3 = identity(n0) + sep_conv_5x5(n0)" in out
    assert "output = concat(n2, n4, n5, n6)" in out
    # By hand (docs/enas_reference.md §1.2): N=2 puts reductions at cells 0 and 1; F=8 doubles at each; a
    # cell emits (#loose ends) x F channels: 4 for this reduction cell, 5 for the normal cell.
    rows = _table(out)
    assert {k: v[0] for k, v in rows.items()} == {
        "stem": "1x32x32x24", "cell_0": "1x16x16x64", "cell_1": "1x8x8x128",
        "cell_2": "1x8x8x160", "cell_3": "1x8x8x160", "head": "1x10"}
    total = int(re.search(r"parameters: ([\d,]+) trainable", out).group(1).replace(",", ""))
    assert total == sum(p for _, p in rows.values())
    assert rows["head"][1] == 160 * 10      # dense without bias on 160 pooled channels


def _total(stdout):
    return int(re.search(r"parameters: ([\d,]+) trainable", stdout).group(1).replace(",", ""))


def test_show_a_final_run_at_its_own_size_and_stem(tmp_path):
    """A final run folder: show builds the net at the run's image size (160x96) with its stem."""
    from test_imagenet_stem import PUBLISHED as PUBLISHED_ARCH, imagenet_net_params
    run = tmp_path / "final"
    run.mkdir()
    json.dump({"search_space": "micro", "arch": PUBLISHED_ARCH.to_json(),
               "space_config": {"num_layers": 2, "num_cells": 5, "out_filters": 8,
                                "stem": "imagenet", "use_aux_heads": False},
               "data": {"image_size": [160, 96]}}, open(run / "run_config.json", "w"))
    proc = run_cli("arch_main", ["show", str(run), "--depth=1", "--num_classes=5"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "fixed net for 160x96x3 images, 5 classes" in out
    assert "  stem imagenet: 160x96 input, cells read 40x24 and 20x12 (24 channels)" in out
    assert "  cell 0: 10x6, 16 filters (cell 0 reduces)" in out
    assert re.search(r"^stem\s+ImageNetStem\s+1x40x24x24, 1x20x12x24\s", out, re.M)
    rows = _table(out)
    assert {k: v[0] for k, v in rows.items() if k.startswith("cell")} == {
        "cell_0": "1x10x6x64", "cell_1": "1x5x3x128", "cell_2": "1x5x3x160",
        "cell_3": "1x5x3x160"}
    assert _total(out) == imagenet_net_params(PUBLISHED_ARCH, 2, 8, 5, 160, 96, aux=False)


def test_show_macro_tokens_at_a_given_size(tmp_path):
    from test_macro_stem import ARCH6, cifar_stem_params, imagenet_stem_params
    from test_macro_net import _formula, _rows
    proc = run_cli("arch_main", ["show", "--search_for=macro", ARCH6.tokens(), "--depth=1",
                                 "--image_size=224", "--set", "stem=auto", "--set",
                                 "num_layers=6", "--set", "out_filters=8"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "fixed net for 224x224x3 images, 10 classes" in out
    assert ("  stem imagenet (--child_stem=auto for 224x224 images): 224x224 input, layers "
            "read 28x28 (8 channels)") in out
    assert "  layers 4-5: 7x7, 32 filters (reduced after pool layer 3)" in out
    assert _table(out)["layer_5"][0] == "1x7x7x32"
    assert _total(out) == (_formula(_rows(ARCH6), 8, 10, "as_named") - cifar_stem_params(8)
                           + imagenet_stem_params(8))


def test_render_run_folder_and_token_string(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    _arch_file(run / "arch.json")
    proc = run_cli("arch_main", ["render", str(run)])
    assert proc.returncode == 0, proc.stderr[-2000:]
    for ext in ("png", "svg", "dot"):      # into analysis/: never over the run's own files
        assert (run / "analysis" / f"arch.{ext}").stat().st_size > 500
    assert sorted(os.listdir(run)) == ["analysis", "arch.json"]
    img = Image.open(run / "analysis" / "arch.png")
    assert img.format == "PNG" and min(img.size) > 300
    out = tmp_path / "pics"
    proc = run_cli("arch_main", ["render", "--search_for=micro", "0", "1", "1", "4", "1", "1",
                                 "0", "2", "1", "0", "0", "3", "1", "2", "0", "3",
                                 f"--output_dir={out}", "--formats=svg", "--name=cells"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert os.listdir(out) == ["cells.svg"]
    assert open(out / "cells.svg").read().count('class="node ') == 2 * (2 + 4 + 2 + 1)


def test_diff_exit_status_and_text(tmp_path):
    a = _arch_file(tmp_path / "a.json")
    tokens = PUBLISHED.split()
    tokens[27] = "3"                      # reduction n3 (tokens 25-28): op_2 avg -> max pool
    b = _arch_file(tmp_path / "b.json", " ".join(tokens))
    proc = run_cli("arch_main", ["diff", a, b])
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "1 of 40 tokens differ (positions 28)" in proc.stdout
    assert "-  n3 = max_pool_3x3(n0) + avg_pool_3x3(n0)" in proc.stdout
    assert "+  n3 = max_pool_3x3(n0) + max_pool_3x3(n0)" in proc.stdout
    assert "avg_pool_3x3  3 -> 2 (-1)" in proc.stdout
    same = run_cli("arch_main", ["diff", a, "--search_for=micro", PUBLISHED])
    assert same.returncode == 0 and "identical micro architectures" in same.stdout


def test_report_on_demand(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    _arch_file(run / "arch.json")
    rows = [{"epoch": e, "child_loss": 2.3, "child_acc": 0.1, "reward_mean": 0.1 + 0.01 * e,
             "entropy": 10.0, "step": 5 * (e + 1), "seconds": 3.0} for e in range(3)]
    (run / "progress.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    proc = run_cli("arch_main", ["report", str(run), "--num_classes=10"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    for name in ("arch.png", "arch.svg", "summary.json", "report.html"):
        assert f"wrote {run / 'analysis' / name}" in proc.stdout
    assert "warning: the child's training metric stays at chance" in proc.stderr
    assert sorted(os.listdir(run)) == ["analysis", "arch.json", "progress.jsonl"]
    summary = json.load(open(run / "analysis" / "summary.json"))
    assert [w["code"] for w in summary["warnings"]] == ["child_at_chance"]


@pytest.mark.parametrize("args, message", [
    (["frobnicate", "x"], "usage: enas-arch"),
    (["show"], "takes 1 SOURCE argument"),
    (["show", "/no/such/arch.json"], "neither a file nor a folder; to pass a token string"),
    (["report", "/no/such/run"], "run folder /no/such/run does not exist"),
])
def test_bad_input_is_one_error_line_fast(args, message):
    proc = run_cli("arch_main", args, timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert len(error_lines(proc)) == 1 and message in error_lines(proc)[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_architecture_and_settings_are_one_error_line(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"search_space": "micro", "tokens": "0 2 0"}')
    cases = [
        (["show", str(bad)], "3 tokens but expected 8 * num_cells"),
        (["render", "--search_for=micro", "0 9 0 0 0 0 0 0"], "token 2 (node 2 of the normal cell"),
        (["show", "--set", "bogus=1", _arch_file(tmp_path / "ok.json")],
         "unknown micro config field(s) bogus"),
        (["report", str(tmp_path)], "holds no search files"),
        (["show", "--image_size=20x", str(tmp_path / "ok.json")], "malformed --image_size"),
        (["show", "--image_size=24", "--set", "stem=imagenet", str(tmp_path / "ok.json")],
         "images of 24x24 are too small for --child_stem=imagenet"),
    ]
    for args, message in cases:
        proc = run_cli("arch_main", args, timeout=300)
        assert proc.returncode == 2, (args, proc.stderr[-2000:])
        assert len(error_lines(proc)) == 1 and message in error_lines(proc)[0], (args, proc.stderr)


@pytest.mark.slow
def test_all_subcommands_on_a_real_micro_search(cifar10_dir, tmp_path):
    run = tmp_path / "search"
    proc = run_cli("cnn_main", TINY_SEARCH + [f"--data_path={cifar10_dir}", f"--output_dir={run}",
                                              "--num_epochs=2"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = run_cli("arch_main", ["report", str(run), "--num_classes=10"])
    assert report.returncode == 0, report.stderr[-2000:]
    summary = json.load(open(run / "summary.json"))
    arch = json.load(open(run / "arch.json"))
    assert summary["best"]["tokens"] == arch["tokens"] and summary["cost"]["epochs"] == 2
    assert summary["cost"]["controller_samples"] == 2 * 2 * 2
    assert (run / "arch.png").exists() and "plot-op-hist" in open(run / "report.html").read()
    show = run_cli("arch_main", ["show", str(run), "--set", "num_layers=2",
                                 "--set", "out_filters=4", "--depth=1"])
    assert show.returncode == 0, show.stderr[-2000:]
    assert arch["tokens"] in show.stdout and "cell_3" in _table(show.stdout)
    render = run_cli("arch_main", ["render", str(run / "arch.json"), "--formats=dot"])
    assert render.returncode == 0 and (run / "analysis" / "arch.dot").exists()
    diff = run_cli("arch_main", ["diff", str(run), "--search_for=micro", arch["tokens"]])
    assert diff.returncode == 0 and "identical" in diff.stdout
