"""Rebuilding the `ExperimentConfig` of a search from its ``experiment.json``."""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Dict

from enas_tf2.configs.base import (ControllerConfig, ExperimentConfig, ObjectiveConfig,
                                   OptimizerConfig, RunConfig)
from enas_tf2.errors import EnasError



def _build(cls, fields: Dict[str, Any], where: str):
    """`cls` from the known keys of `fields` (keys of newer versions are ignored)."""
    if not isinstance(fields, dict):
        raise EnasError(f"{where} must be a JSON object")
    known = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in fields.items() if k in known})


def experiment_from_json(obj: Dict[str, Any], source: str) -> ExperimentConfig:
    """The `ExperimentConfig` saved by `ExperimentConfig.to_json` (`source` names the file in
    errors)."""
    from enas_tf2.search_space.registry import config_class
    from enas_tf2.tasks.registry import data_config_class, task_names
    try:
        space, task = obj["space"], obj["task"]
        if task not in task_names():
            raise EnasError(f"{source}: unknown task {task!r}")
        data_cls = data_config_class(task)
        return ExperimentConfig(
            space=space, task=task,
            space_config=_build(config_class(space), obj["space_config"], f"{source}: space_config"),
            data=_build(data_cls, obj["data"], f"{source}: data"),
            controller=_build(ControllerConfig, obj["controller"], f"{source}: controller"),
            optim=_build(OptimizerConfig, obj["optim"], f"{source}: optim"),
            run=_build(RunConfig, obj["run"], f"{source}: run"),
            objective=_build(ObjectiveConfig, obj.get("objective", {}), f"{source}: objective"))
    except KeyError as err:
        raise EnasError(f"{source} has no {err.args[0]!r} entry; is it an enas_tf2 "
                        f"experiment.json?") from None


def read_experiment(run_dir: str) -> ExperimentConfig:
    """The experiment of the search in `run_dir` (its ``experiment.json``)."""
    from enas_tf2.report.run_folder import read_json_file
    path = os.path.join(run_dir, "experiment.json")
    obj = read_json_file(path, "experiment file")
    if obj is None:
        raise EnasError(f"{run_dir} holds no experiment.json: it is not a search folder, or the "
                        f"search was run by an enas_tf2 older than `enas-arch rank`")
    if not isinstance(obj, dict):
        raise EnasError(f"{path} must hold a JSON object")
    return experiment_from_json(obj, path)
