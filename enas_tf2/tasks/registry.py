"""Maps a task name (``ExperimentConfig.task``) to its class; imported lazily."""

from __future__ import annotations

import importlib

from enas_tf2.errors import EnasError

_TASKS = {
    "image_classification": ("enas_tf2.tasks.image_classification", "ImageClassificationTask"),
    "language_model": ("enas_tf2.tasks.language_model", "LanguageModelTask"),
}


def get_task(name: str, data, optim):
    """Builds task `name` from its data config and the optimizer config."""
    if name not in _TASKS:
        raise EnasError(f"unknown task {name!r}; choose one of {', '.join(sorted(_TASKS))}")
    module, cls = _TASKS[name]
    return getattr(importlib.import_module(module), cls)(data, optim)
