"""The pre-flight: the projection arithmetic, the memory fit, a run that does not fit refused
with a batch size that does, the pre-flight leaving the run unchanged, and ``--dry_run``."""

import dataclasses
import math
import os

import pytest

from enas_tf2 import api
from enas_tf2.configs.base import RunConfig, ControllerConfig
from enas_tf2.runs.memory_probe import INPUT_BUFFER_BATCHES, MemoryFit, probe_batches
from enas_tf2.training.preflight import Estimate, project
from enas_tf2.training.preflight_kinds import StepKind

from test_faults import ARCH, tiny_final

GIB = float(1 << 30)


def test_projection_counts_each_kind_on_its_epochs():
    steps = [StepKind("child step", "train", 0.5, 40),
             StepKind("controller sample", "controller", 0.1, 20),
             StepKind("evaluation batch", "eval", 0.2, 10),
             StepKind("derive scoring batch", "end", 0.05, 200)]
    est = Estimate(kind="search", batch_size=16, replicas=1, limit=None, limit_source="",
                   fit=None, steps=steps, epochs_done=1, num_epochs=7)
    project(est, RunConfig(num_epochs=7, eval_every_epochs=3), ControllerConfig(train_every=2))
    assert est.epoch_seconds == pytest.approx(0.5 * 40 + 0.1 * 20 + 0.2 * 10)
    # Epochs 2..7 (1-based) remain: child steps in all 6, the controller after epochs 2, 4, 6,
    # evaluation after epochs 3 and 6 and after the last (7); derive once.
    expected = 6 * 20.0 + 3 * 2.0 + 3 * 2.0 + 200 * 0.05
    assert est.run_seconds == pytest.approx(expected)


def test_memory_fit_line_and_the_largest_batch():
    mib = float(1 << 20)
    fit = MemoryFit(batches=(8, 16), peaks=(40 * mib, 120 * mib), per_example=10 * mib,
                    input_bytes=12288, base=int(1 * GIB))
    buffers = INPUT_BUFFER_BATCHES * 12288
    # peak(b) = held + 1.15 * (peak(16) + 10 MiB * (b - 16) + input buffers)
    assert fit.peak_at(160) == pytest.approx(
        GIB + 1.15 * (120 * mib + 10 * mib * 144 + buffers * 160))
    limit = 4 * GIB
    batch = fit.largest_batch(limit, multiple=4)
    assert batch % 4 == 0
    room = 0.9 * (limit - GIB)
    assert fit.peak_at(batch) - GIB <= room < fit.peak_at(batch + 4) - GIB
    # 90 % of 3 GiB of room / 1.15 = 2404.2 MiB; minus 120 MiB at batch 16 plus 160 MiB:
    # 2444.2 MiB at 10.047 MiB per example -> 243 examples, rounded down to a multiple of 4.
    assert batch == 240
    assert fit.largest_batch(0.5 * GIB) == 0
    assert probe_batches(160) == (8, 16) and probe_batches(16) == (2, 4)
    assert probe_batches(4096) == (8, 16)


def _tiny(cifar10_dir, folder, **run):
    cfg = tiny_final(cifar10_dir, folder, 2)
    return cfg.replace(run=dataclasses.replace(cfg.run, **run))


def _arch(cfg):
    return api.parse_arch("micro", ARCH, cfg.space_config)


def _values(variables):
    return [v.numpy().copy() for v in variables]


def _same(before, after):
    import numpy as np
    return len(before) == len(after) and all(
        np.array_equal(a, b, equal_nan=True) for a, b in zip(before, after))


def _built(cfg, kind, arch=None):
    """The loop the API would run, built in this process (no lock)."""
    from enas_tf2.api import _prepare
    from enas_tf2.training.run_context import RunContext
    strategy, space, task = _prepare(cfg, None, final=kind == "final")
    ctx = RunContext(cfg.run, strategy)
    if kind == "final":
        from enas_tf2.training.final_loop import FinalLoop
        return FinalLoop(cfg, space, task, arch, ctx)
    from enas_tf2.training.search_loop import SearchLoop
    return SearchLoop(cfg, space, task, ctx)


def test_final_preflight_restores_every_variable(cifar10_dir, tmp_path):
    from enas_tf2.training.preflight import run_preflight
    cfg = _tiny(cifar10_dir, tmp_path / "run", preflight=True)
    loop = _built(cfg, "final", _arch(cfg))
    variables = (loop.net.variables + loop.optimizer.variables
                 + [loop.step, loop.epoch, loop.best_score])
    before = _values(variables)
    est = run_preflight(loop, "final", force=False)
    assert {s.name for s in est.steps} == {"training step", "evaluation batch",
                                           "final test batch"}
    assert _same(before, _values(variables))
    assert loop.steps.metrics.read_and_reset()["steps"] == 0


def test_search_preflight_restores_every_variable(cifar10_dir, tmp_path):
    from enas_tf2.configs.presets import get_preset
    from enas_tf2.training.preflight import run_preflight
    cfg = get_preset("cifar10_micro_search")
    cfg = cfg.replace(
        space_config=dataclasses.replace(cfg.space_config, num_layers=2, num_cells=2,
                                         out_filters=4),
        data=dataclasses.replace(cfg.data, data_path=str(cifar10_dir), valid_size=200,
                                 batch_size=16, eval_batch_size=50),
        controller=dataclasses.replace(cfg.controller, train_steps=2, num_aggregate=2),
        run=dataclasses.replace(cfg.run, output_dir=str(tmp_path / "s"), num_epochs=1,
                                max_steps_per_epoch=3, max_eval_batches=1, log_every=2,
                                derive_num_samples=3))
    loop = _built(cfg, "search")
    st = loop.state
    variables = (st.child.variables + st.controller.variables + st.child_optimizer.variables
                 + st.controller_optimizer.variables
                 + [st.baseline, st.step, st.epoch, st.controller_samples])
    before = _values(variables)
    est = run_preflight(loop, "search", force=False)
    assert [s.name for s in est.steps] == [
        "child step", "controller sample", "controller update", "evaluation batch",
        "architecture scoring batch", "derive scoring batch"]
    assert _same(before, _values(variables))
    # Per epoch: 3 child steps, 2 x 2 controller samples, 2 updates, one capped batch of the
    # validation and of the test split, 10 sampled architectures x 5 derive batches; derive:
    # 3 controller + 3 random architectures x 5 batches.
    assert [s.per_epoch for s in est.steps] == [3, 4, 2, 2, 50, 30]


TINY_CLI = ["--config=cifar10_micro_final", f"--child_fixed_arc={ARCH}", "--child_num_cells=2",
            "--child_num_layers=2", "--child_out_filters=4", "--nochild_use_aux_heads",
            "--valid_size=0", "--eval_batch_size=50", "--max_steps_per_epoch=2",
            "--max_eval_batches=1", "--num_epochs=1"]


@pytest.mark.slow   # three fresh processes (memory figures need a fresh process each)
def test_run_that_does_not_fit_is_refused_with_a_batch_that_fits(cifar10_dir, tmp_path):
    import re

    from cli_runner import error_lines, run_cli
    args = TINY_CLI + [f"--data_path={cifar10_dir}", f"--output_dir={tmp_path / 'run'}"]
    big = 1024
    dry = run_cli("cnn_main", args + [f"--batch_size={big}", "--dry_run"])
    assert dry.returncode == 0, dry.stderr[-3000:]
    held, peak = (float(x) for x in re.search(
        r"peak memory ([\d.]+) GiB \(held before: ([\d.]+) GiB", dry.stdout).groups()[::-1])
    # Allow half of what batch 1024 needs on top of what a fresh process holds.
    limit = f"--memory_limit_gb={held + 0.5 * (peak - held):.3f}"
    refused = run_cli("cnn_main", args + [f"--batch_size={big}", limit])
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    (line,) = error_lines(refused)
    assert line.startswith(f"error: not enough memory: the final at batch size {big} needs "
                           f"about")
    assert "(--memory_limit_gb); use --batch_size=" in line and "--force" in line
    suggested = int(line.split("--batch_size=")[1].split()[0])
    assert big // 8 < suggested < big
    assert not (tmp_path / "run" / "ckpt").exists()       # refused before any training step
    # The suggested batch passes the same check in a fresh process.
    fits = run_cli("cnn_main", args + [f"--batch_size={suggested}", limit, "--dry_run"])
    assert fits.returncode == 0 and "would be refused" not in fits.stdout, fits.stdout


def test_dry_run_prints_the_estimate_and_writes_nothing(cifar10_dir, tmp_path, capsys):
    folder = tmp_path / "never"
    cfg = _tiny(cifar10_dir, folder, dry_run=True)
    result = api.train_final(cfg, _arch(cfg), verbose=0)   # stdout: the estimate alone
    assert isinstance(result, api.DryRun) and result.estimate.fits
    out = capsys.readouterr().out.splitlines()
    assert out == result.lines and len(out) == 3
    assert out[0].startswith("pre-flight (final, batch 16): peak memory")
    assert "training step" in out[1] and "evaluation batch" in out[1]
    est = result.estimate
    # The whole run: 2 epochs of 2 steps and one capped evaluation each, plus the final test.
    by_name = {s.name: s for s in est.steps}
    expected = 2 * (2 * by_name["training step"].seconds + by_name["evaluation batch"].seconds) \
        + by_name["final test batch"].seconds
    assert est.run_seconds == pytest.approx(expected)
    assert not folder.exists()
    assert math.isfinite(est.epoch_seconds) and est.epoch_seconds > 0
    assert not os.path.exists(str(folder))
