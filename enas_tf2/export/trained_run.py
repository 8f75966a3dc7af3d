"""Reading a final-training run directory: `run_config.json` plus the trained weights.

The contract (written by `enas_tf2.training.final_loop`):
- ``TRAIN_DIR/run_config.json``: ``search_space``, ``task``, ``arch`` (the space's
  ``to_json()``), ``space_config`` (the fields of the space's config class) and ``data``, the
  task's data facts: for image classification ``image_size`` [H, W], ``mean``/``std`` in [0, 1]
  units, ``class_names``, ``num_classes``; for the language model ``vocab`` (the words in id
  order, see `lm_run.py`).
- ``TRAIN_DIR/best/`` (optional; best-validation weights) and ``TRAIN_DIR/ckpt/``: checkpoint
  directories of ``tf.train.Checkpoint(model=net, ...)``. ``best/`` wins when present.

`read_run_config` checks what every task shares; `load_trained_run` restores an image
classifier, `lm_run.load_lm_run` a language model (`saved_model.export_run` picks by ``task``).
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import List, Tuple

import keras
import tensorflow as tf

from enas_tf2.errors import EnasError
from enas_tf2.search_space.registry import config_class, get_space
from enas_tf2.data.specs import ImageSpec

RUN_CONFIG_FILE = "run_config.json"
CHECKPOINT_DIRS = ("best", "ckpt")   # in order of preference


@dataclasses.dataclass(frozen=True)
class TrainedRun:
    """A trained network restored from a run directory, with its preprocessing constants."""

    train_dir: str
    checkpoint: str                  # checkpoint prefix the weights came from
    net: keras.Model                 # built, restored, without the training-only aux head
    arch: object                     # the space's `Arch`
    arch_json: dict
    image_size: Tuple[int, int]      # (H, W) the network was trained at
    mean: Tuple[float, float, float]  # [0, 1] pixel units
    std: Tuple[float, float, float]
    class_names: List[str]

    def summary(self) -> str:
        """One line saying what was restored (for enas-export)."""
        return (f"{self.checkpoint} ({len(self.class_names)} classes, {self.image_size[0]}x"
                f"{self.image_size[1]} input)")


TASKS = ("image_classification", "language_model")


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
    config.setdefault("task", "image_classification")
    if config["task"] not in TASKS:
        raise EnasError(f"{path}: unknown task {config['task']!r}; enas-export handles "
                        f"{' and '.join(TASKS)} runs")
    return config


def _check_image_data(config: dict, path: str) -> None:
    data = config["data"]
    for key in ("image_size", "mean", "std", "class_names"):
        if key not in data:
            raise EnasError(f"{path} has no data.{key!r} entry")
    if len(data["image_size"]) != 2 or len(data["mean"]) != 3 or len(data["std"]) != 3:
        raise EnasError(f"{path}: data.image_size must be [H, W] and data.mean/std 3 numbers each")
    if int(data.get("num_classes", len(data["class_names"]))) != len(data["class_names"]):
        raise EnasError(f"{path}: data.num_classes={data['num_classes']} but "
                        f"{len(data['class_names'])} class names")


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


def load_trained_run(train_dir: str) -> TrainedRun:
    """Rebuilds the run's fixed image network (no aux head: export is inference) and restores
    its weights."""
    config = read_run_config(train_dir)
    path = os.path.join(train_dir, RUN_CONFIG_FILE)
    if config["task"] != "image_classification":
        raise EnasError(f"{path}: a {config['task']} run, not an image classifier")
    _check_image_data(config, path)
    checkpoint = find_checkpoint(train_dir)
    data = config["data"]
    space, arch = space_and_arch(config, train_dir, {"use_aux_heads": False})
    height, width = (int(v) for v in data["image_size"])
    net = space.build_fixed(arch, ImageSpec(height, width, len(data["class_names"])),
                            total_steps=1)
    restore_weights(net, checkpoint)
    return TrainedRun(train_dir=train_dir, checkpoint=checkpoint, net=net, arch=arch,
                      arch_json=config["arch"], image_size=(height, width),
                      mean=tuple(float(v) for v in data["mean"]),
                      std=tuple(float(v) for v in data["std"]),
                      class_names=[str(c) for c in data["class_names"]])
