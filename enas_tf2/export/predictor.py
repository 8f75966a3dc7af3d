"""`load_predictor`: the predictor of any `enas-export` directory, picked by asking each task's
serving whether the folder is its export (no branch on a task name here)."""

from __future__ import annotations

from typing import Optional

from enas_tf2.errors import EnasError
from enas_tf2.tasks.registry import all_servings
from enas_tf2.tasks.serving import PredictOptions, TaskPredictor, check_export_dir


def load_predictor(model_dir: str, options: Optional[PredictOptions] = None) -> TaskPredictor:
    """The loaded export at `model_dir` (an image classifier's `Predictor` or, for a LiteRT
    export, `LiteRtPredictor`; a language model's `LmPredictor`, ...); `options` may pick among
    an export's models (``precision``). EnasError when no task recognises the folder."""
    import os
    if not os.path.isdir(model_dir):
        raise EnasError(f"--model_dir {model_dir} does not exist")
    for serving in all_servings():
        if serving.is_export(model_dir):
            return serving.predictor(model_dir, options or PredictOptions())
    check_export_dir(model_dir)   # no SavedModel either: say so
    raise EnasError(f"--model_dir {model_dir} holds a SavedModel but none of the files a task's "
                    f"export adds (labels.json, vocab.json): was it written by enas-export?")
