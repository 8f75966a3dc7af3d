"""Maps a task name (``ExperimentConfig.task``) to its class and its serving; imported lazily."""

from __future__ import annotations

import importlib
from typing import List

from enas_tf2.errors import EnasError

# name -> (package, task class, serving class); the package's `task` and `serving` modules.
_TASKS = {
    "image_classification": ("enas_tf2.tasks.image_classification", "ImageClassificationTask",
                             "ImageServing"),
    "language_model": ("enas_tf2.tasks.language_model", "LanguageModelTask", "LmServing"),
}
# The task of run folders written before the task was recorded (all of them image runs).
DEFAULT_TASK = "image_classification"
# name -> (module, class) of the task's data config (what ``ExperimentConfig.data`` holds).
_DATA_CONFIGS = {
    "image_classification": ("enas_tf2.configs.base", "DataConfig"),
    "language_model": ("enas_tf2.data.text.config", "TextDataConfig"),
}


def task_names() -> List[str]:
    """Names of the registered tasks."""
    return sorted(_TASKS)


def _entry(name: str):
    if name not in _TASKS:
        raise EnasError(f"unknown task {name!r}; choose one of {', '.join(task_names())}")
    return _TASKS[name]


def data_config_class(name: str) -> type:
    """The data config dataclass of task `name` (to rebuild a saved experiment)."""
    _entry(name)
    module, cls = _DATA_CONFIGS[name]
    return getattr(importlib.import_module(module), cls)


def get_task(name: str, data, optim, inputs=None, final: bool = False):
    """Builds task `name` from its data config and the optimizer config; `inputs` are datasets
    the user handed to the Python API (the task's own type, e.g. `ImageDatasets`), or None;
    `final` says the task serves final training (the language model then carries evaluation
    state and averages weights)."""
    package, cls, _ = _entry(name)
    task_cls = getattr(importlib.import_module(f"{package}.task"), cls)
    kwargs = {"final": final} if final else {}
    if inputs is not None:
        kwargs["inputs"] = inputs
    return task_cls(data, optim, **kwargs)


def get_serving(name: str):
    """The `TaskServing` of task `name` (how its trained networks are exported and used)."""
    package, _, cls = _entry(name)
    return getattr(importlib.import_module(f"{package}.serving"), cls)()


def all_servings() -> list:
    """The `TaskServing` of every registered task, in name order."""
    return [get_serving(name) for name in task_names()]
