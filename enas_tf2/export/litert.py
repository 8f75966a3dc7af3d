"""`export_litert`: a trained run -> LiteRT models for phones and boards, for any task whose
serving offers it (`TaskServing.litert`; today the image classifier: float32 and int8 ``.tflite``
models with their test accuracy and latency, `tasks/image_classification/litert.py`). The
language model stays SavedModel-only: its recurrent cell runs a data-dependent loop over the
tokens of a line that these models do not cover.
"""

from __future__ import annotations

import os
from typing import Dict

from enas_tf2.errors import EnasError
from enas_tf2.export.saved_model import prepare_export_dir
from enas_tf2.export.trained_run import (RUN_CONFIG_FILE, load_trained_run, read_run_config,
                                         space_and_arch)
from enas_tf2.tasks.registry import get_serving, get_task


def _run_data(train_dir: str, data, run, litert):
    """The run's `DataBundle`: its data config from ``experiment.json`` (the user's datasets
    when `data` is given, Python API; then the config may be absent)."""
    from enas_tf2.configs.base import OptimizerConfig
    from enas_tf2.ranking.experiment_file import read_experiment
    if data is not None and not os.path.isfile(os.path.join(train_dir, "experiment.json")):
        return get_task(run.serving.task, litert.data_config(run), OptimizerConfig(),
                        inputs=data).build_data(1)
    cfg = read_experiment(train_dir)
    return get_task(cfg.task, cfg.data, cfg.optim, inputs=data).build_data(1)


def export_litert(train_dir: str, export_dir: str, overwrite: bool = False, data=None,
                  threads: int = 1, calibration_images: int = 200,
                  max_eval_images: int = 0, latency_runs: int = 50) -> Dict[str, object]:
    """Writes the LiteRT models of the trained run `train_dir` into `export_dir` (nothing is
    written into the run folder); returns the task's report (also ``litert.json``).

    Args:
      data: the datasets the run was trained on (Python API); None rebuilds the run's data
        from its ``experiment.json``.
      threads: interpreter threads for the latency measurement.
      calibration_images: training examples the int8 calibration sees.
      max_eval_images: cap on test examples scored per model (0 = the whole split).
      latency_runs: timed invocations per model (the median is reported).
    """
    config = read_run_config(train_dir)
    litert = get_serving(config["task"]).litert()
    if litert is None:
        raise EnasError(f"--format=litert: {train_dir} is a {config['task']} run, which exports "
                        f"as a SavedModel only (enas-export without --format)")
    if threads < 1 or calibration_images < 1:
        raise EnasError(f"threads ({threads}) and calibration_images ({calibration_images}) "
                        f"must be positive")
    source, target = os.path.realpath(train_dir), os.path.realpath(export_dir)
    if source == target or source.startswith(target + os.sep):
        raise EnasError(f"--export_dir {export_dir} would overwrite the training directory "
                        f"{train_dir}; choose a separate folder")
    run = load_trained_run(train_dir)
    bundle = _run_data(train_dir, data, run, litert)
    prepare_export_dir(export_dir, overwrite)
    space, arch = space_and_arch(config, train_dir, run.serving.inference_overrides)
    try:
        cost = space.arch_cost(arch, run.serving.input_spec(run.data))
    except EnasError as err:
        raise EnasError(f"{os.path.join(train_dir, RUN_CONFIG_FILE)}: {err}") from None
    return litert.export(run, export_dir, bundle, cost, threads=threads,
                         calibration_images=calibration_images,
                         max_eval_images=max_eval_images, latency_runs=latency_runs)


def export_litert_cli(train_dir: str, export_dir: str, overwrite: bool) -> str:
    """Runs `export_litert` and returns the task's summary lines (what `enas-export` prints)."""
    litert = get_serving(read_run_config(train_dir)["task"]).litert()
    report = export_litert(train_dir, export_dir, overwrite=overwrite)
    return litert.format_report(report, export_dir)
