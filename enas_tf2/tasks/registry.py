"""Maps a task name (``ExperimentConfig.task``) to its class; imported lazily."""

from __future__ import annotations

import importlib

from enas_tf2.errors import EnasError

_TASKS = {
    "image_classification": ("enas_tf2.tasks.image_classification", "ImageClassificationTask"),
    "language_model": ("enas_tf2.tasks.language_model", "LanguageModelTask"),
}


def get_task(name: str, data, optim, inputs=None, final: bool = False):
    """Builds task `name` from its data config and the optimizer config; `inputs` are datasets
    the user handed to the Python API (the task's own type, e.g. `ImageDatasets`), or None;
    `final` says the task serves final training (the language model then carries evaluation
    state and averages weights)."""
    if name not in _TASKS:
        raise EnasError(f"unknown task {name!r}; choose one of {', '.join(sorted(_TASKS))}")
    module, cls = _TASKS[name]
    task_cls = getattr(importlib.import_module(module), cls)
    kwargs = {"final": final} if final else {}
    if inputs is not None:
        kwargs["inputs"] = inputs
    return task_cls(data, optim, **kwargs)
