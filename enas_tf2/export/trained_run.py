"""Reading a final-training run directory: `run_config.json` plus the trained weights, for any task.

The contract (written by `enas_tf2.training.final_loop`):
- ``TRAIN_DIR/run_config.json``: ``search_space``, ``task``, ``arch`` (the space's
  ``to_json()``), ``space_config`` (the fields of the space's config class) and ``data``, the
  task's data facts (image classification: ``image_size``, ``mean``/``std``, ``class_names``;
  the language model: ``vocab``; each task's serving checks its own).
- ``TRAIN_DIR/best/`` (optional; best-validation weights) and ``TRAIN_DIR/ckpt/``: checkpoint
  directories of ``tf.train.Checkpoint(model=net, ...)``. ``best/`` wins when present.

`load_trained_run` rebuilds the space's fixed network for the input the task's serving names
(`tasks/serving.py`) and restores it; nothing here knows images from tokens.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

import keras
import tensorflow as tf

from enas_tf2.errors import EnasError
from enas_tf2.search_space.registry import config_class, get_space
from enas_tf2.tasks.registry import DEFAULT_TASK, get_serving, task_names

RUN_CONFIG_FILE = "run_config.json"
CHECKPOINT_DIRS = ("best", "ckpt")   # in order of preference


@dataclasses.dataclass(frozen=True)
class TrainedRun:
    """A trained network restored from a run directory.

    Attributes:
      train_dir: the run folder.
      checkpoint: checkpoint prefix the weights came from (``best/`` before ``ckpt/``).
      net: the restored fixed network, built for serving (e.g. without a training-only head).
      arch, arch_json: the architecture, as the space's `Arch` and as JSON.
      data: the run config's task facts (``data``), checked by the task's serving.
      result: the run's ``result.json`` (final scores, warnings), or {}.
      serving: the task's `TaskServing`.
    """

    train_dir: str
    checkpoint: str
    net: keras.Model
    arch: Any
    arch_json: dict
    data: dict
    result: dict
    serving: Any

    def summary(self) -> str:
        """One line saying what was restored (for enas-export)."""
        return self.serving.describe(self)


def read_run_config(train_dir: str) -> dict:
    """Parses ``TRAIN_DIR/run_config.json`` and checks the keys every task shares; EnasError
    naming what is missing. ``task`` defaults to image classification (older runs)."""
    path = os.path.join(train_dir, RUN_CONFIG_FILE)
    if not os.path.isdir(train_dir):
        raise EnasError(f"training directory {train_dir} does not exist")
    try:
        with open(path) as f:
            config = json.load(f)
    except FileNotFoundError:
        raise EnasError(f"{train_dir} has no {RUN_CONFIG_FILE}: it is not the --output_dir of a "
                        f"final training run (enas-cnn or enas-ptb with --arch_json=... or "
                        f"--child_fixed_arc=...)") from None
    except json.JSONDecodeError as err:
        raise EnasError(f"{path} is not valid JSON ({err.msg} at line {err.lineno})") from None
    if not isinstance(config, dict):
        raise EnasError(f"{path} must hold a JSON object")
    for key in ("search_space", "arch", "space_config", "data"):
        if key not in config:
            raise EnasError(f"{path} has no {key!r} entry")
    config.setdefault("task", DEFAULT_TASK)
    if config["task"] not in task_names():
        raise EnasError(f"{path}: unknown task {config['task']!r}; enas-export handles "
                        f"{' and '.join(task_names())} runs")
    if not isinstance(config["data"], dict):
        raise EnasError(f"{path}: 'data' must be a JSON object")
    return config


def find_checkpoint(train_dir: str) -> str:
    """Newest checkpoint of ``best/``, else of ``ckpt/``; EnasError if there is none."""
    for sub in CHECKPOINT_DIRS:
        path = tf.train.latest_checkpoint(os.path.join(train_dir, sub))
        if path:
            return path
    raise EnasError(f"no trained checkpoint in {train_dir} (looked in "
                    f"{' and '.join(os.path.join(train_dir, s) for s in CHECKPOINT_DIRS)}); "
                    f"train first or point --output_dir at a finished run")


def space_and_arch(config: dict, train_dir: str, inference: dict):
    """``(space, arch)`` of a run config; `inference` overrides fields of the space's config
    that exist only for training (e.g. ``use_aux_heads=False``), where the config has them."""
    try:
        config_cls = config_class(config["search_space"])
        fields = {f.name for f in dataclasses.fields(config_cls)}
        space_config = {k: v for k, v in config["space_config"].items() if k in fields}
        space_config.update({k: v for k, v in inference.items() if k in fields})
        space = get_space(config["search_space"], config_cls(**space_config))
        return space, space.arch_from_json(config["arch"])
    except EnasError as err:
        raise EnasError(f"{os.path.join(train_dir, RUN_CONFIG_FILE)}: {err}") from None


def restore_weights(net, checkpoint: str) -> None:
    """Restores `net` from `checkpoint` (saved as ``tf.train.Checkpoint(model=net, ...)``);
    every variable of the rebuilt net must come from the checkpoint (none left at its init)."""
    try:
        status = tf.train.Checkpoint(model=net).restore(checkpoint)
        status.expect_partial()
        status.assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.OpError) as err:
        raise EnasError(f"checkpoint {checkpoint} does not match the network described by "
                        f"{RUN_CONFIG_FILE} ({str(err).strip().splitlines()[0][:200]})") from None



def _read_result(train_dir: str) -> dict:
    try:
        with open(os.path.join(train_dir, "result.json")) as f:
            result = json.load(f)
    except (OSError, ValueError):
        return {}
    return result if isinstance(result, dict) else {}


def load_trained_run(train_dir: str) -> TrainedRun:
    """Rebuilds the run's fixed network as its task serves it and restores its weights
    (EnasError when the folder is not a finished run or its checkpoint does not fit)."""
    config = read_run_config(train_dir)
    serving = get_serving(config["task"])
    serving.check_data(config["data"], os.path.join(train_dir, RUN_CONFIG_FILE))
    checkpoint = find_checkpoint(train_dir)
    space, arch = space_and_arch(config, train_dir, serving.inference_overrides)
    net = space.build_fixed(arch, serving.input_spec(config["data"]), total_steps=1)
    restore_weights(net, checkpoint)
    return TrainedRun(train_dir=train_dir, checkpoint=checkpoint, net=net, arch=arch,
                      arch_json=config["arch"], data=config["data"],
                      result=_read_result(train_dir), serving=serving)
