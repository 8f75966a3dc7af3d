"""`export_run`: a trained run directory -> a self-contained SavedModel for serving, for any task.

Every export directory holds:
- the SavedModel (``saved_model.pb``, ``variables/``) with the signatures the run's task serves
  (`tasks/<task>/serving.py`: image bytes -> probabilities; text -> perplexity and next words),
  preprocessing or vocabulary inside the graph;
- ``model.keras``: the bare network, for Keras users;
- ``arch.json`` (the architecture) with its picture ``arch.png``/``arch.svg``;
- the task's side files (``labels.json`` and ``preprocessing.json``; ``vocab.json``);
- ``warnings.json`` when the trained run carries health warnings (`enas-predict` prints them).
"""

from __future__ import annotations

import os
import shutil

import tensorflow as tf

from enas_tf2.errors import EnasError
from enas_tf2.export.trained_run import TrainedRun, load_trained_run
from enas_tf2.json_file import write_json
from enas_tf2.render import render_arch_files

KERAS_FILE = "model.keras"
ARCH_FILE = "arch.json"
WARNINGS_FILE = "warnings.json"   # health warnings of the trained run (absent when none)


def prepare_export_dir(export_dir: str, overwrite: bool) -> None:
    """Creates `export_dir`, empty (EnasError when it holds files, unless `overwrite`)."""
    if os.path.exists(export_dir) and not os.path.isdir(export_dir):
        raise EnasError(f"--export_dir {export_dir} exists and is not a directory")
    if os.path.isdir(export_dir) and os.listdir(export_dir):
        if not overwrite:
            raise EnasError(f"--export_dir {export_dir} is not empty; choose a new folder or "
                            f"pass --overwrite")
        shutil.rmtree(export_dir)
    try:
        os.makedirs(export_dir, exist_ok=True)
    except OSError as err:
        raise EnasError(f"cannot create --export_dir {export_dir}: {err.strerror}") from None


def export_trained(run: TrainedRun, export_dir: str) -> None:
    """Writes the SavedModel, ``model.keras``, the architecture and the task's side files of
    `run` into the (empty, existing) `export_dir`."""
    # A plain tf.Module root: the signatures are all we serve. `keras.export.ExportArchive` wrote
    # the same image signatures about 3x slower (15 s vs 5 s for the test network, measured).
    root = tf.Module()
    root.net = run.net
    signatures = run.serving.signatures(run, root)
    # Serving needs no gradients; saving the layers' gradient overrides (the max pool's) would
    # trace them out of context and fail.
    tf.saved_model.save(root, export_dir, signatures=signatures,
                        options=tf.saved_model.SaveOptions(experimental_custom_gradients=False))
    run.net.save(os.path.join(export_dir, KERAS_FILE))
    render_arch_files(run.arch, export_dir)
    write_json(os.path.join(export_dir, ARCH_FILE), run.arch_json)
    for name, obj in run.serving.side_files(run).items():
        write_json(os.path.join(export_dir, name), obj)
    warnings = run.result.get("warnings")
    if warnings:   # e.g. a network that learned nothing: it travels with the model
        write_json(os.path.join(export_dir, WARNINGS_FILE), {"warnings": list(warnings)})


def export_run(train_dir: str, export_dir: str, overwrite: bool = False) -> TrainedRun:
    """Exports the trained network of `train_dir` (``best/`` weights if present) to `export_dir`
    as its task serves it.

    Raises EnasError when `train_dir` has no run_config.json or no checkpoint, when the checkpoint
    does not fit the configuration, or when `export_dir` is not empty (unless `overwrite`).
    Returns the restored `TrainedRun` (``run.summary()`` describes it).
    """
    source, target = os.path.realpath(train_dir), os.path.realpath(export_dir)
    if source == target or source.startswith(target + os.sep):
        raise EnasError(f"--export_dir {export_dir} would overwrite the training directory "
                        f"{train_dir}; choose a separate folder")
    run = load_trained_run(train_dir)
    prepare_export_dir(export_dir, overwrite)
    export_trained(run, export_dir)
    return run
