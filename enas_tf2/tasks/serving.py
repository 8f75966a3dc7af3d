"""The serving seam: how a task's trained networks are exported and used, owned by the task like
its loss and metrics (TF Model Garden's tasks own their export modules the same way).

`export/` is generic. It reads a final-training run folder (``run_config.json`` and a checkpoint),
asks the run's task for its `TaskServing`, rebuilds the space's fixed network for the input the
serving names (`input_spec`), restores the weights and writes the SavedModel with the signatures
the serving builds, ``model.keras``, the architecture and the serving's side files. Prediction is
generic too: `export.predictor.load_predictor` asks every task's serving whether a folder is its
export (`is_export`) and hands it to that task's predictor.

So image bytes -> probabilities and text -> perplexity / next words live in
`tasks/image_classification/` and `tasks/language_model/`; a new task (or a new export format
that needs task knowledge) adds a serving there, not a branch in `export/`.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Dict, Protocol, Sequence, Tuple, runtime_checkable

from enas_tf2.errors import EnasError


@dataclasses.dataclass(frozen=True)
class PredictOptions:
    """What `enas-predict` was asked for, parsed once at the command line.

    Attributes:
      top_k: images: classes shown per input (capped at the number of classes).
      text: language model: lines to score (besides text files given as inputs).
      next_words: language model: propose this many next words instead of a perplexity (0: off).
      json: print JSON instead of text.
      precision: LiteRT exports: which model runs (``int8`` or ``float32``).
    """
    top_k: int = 5
    text: Tuple[str, ...] = ()
    next_words: int = 0
    json: bool = False
    precision: str = "int8"


@runtime_checkable
class TaskPredictor(Protocol):
    """A loaded export that answers `enas-predict`."""

    def run_cli(self, inputs: Sequence[str], options: PredictOptions) -> str:
        """The printed answer for the command line's positional `inputs` (image files, text
        files) and `options`; EnasError for inputs this task cannot read."""


@runtime_checkable
class TaskServing(Protocol):
    """What a task provides for export and prediction. `run` arguments are the generic
    `export.trained_run.TrainedRun`: ``net``, ``arch``, ``arch_json``, ``data`` (the run
    config's task facts), ``result`` (``result.json``) and ``checkpoint``."""

    task: str                          # the task's registered name
    # Space-config fields that exist only for training, replaced when the network is rebuilt
    # for serving (e.g. ``use_aux_heads=False``); fields a space lacks are ignored.
    inference_overrides: Dict[str, Any]

    def check_data(self, data: dict, path: str) -> None:
        """EnasError naming `path` when the run config's ``data`` facts cannot serve."""

    def input_spec(self, data: dict) -> Any:
        """The input spec (`ImageSpec`, `TokenSpec`) the fixed network is built for."""

    def describe_spec(self, spec: Any) -> str:
        """``"32x32x3 images, 10 classes"``-like words for an input spec (enas-arch show)."""

    def sample_input(self, spec: Any) -> Any:
        """One input batch for tracing the network layer by layer, or None when the network
        takes more than one input (then only its layers' parameters are listed)."""

    def describe(self, run) -> str:
        """One line saying what was restored (for enas-export)."""

    def signatures(self, run, root) -> Dict[str, Any]:
        """The SavedModel's signatures (concrete functions) of `run`; `root` is the saved
        `tf.Module`, on which the serving tracks what the graph needs (e.g. a lookup table)."""

    def side_files(self, run) -> Dict[str, dict]:
        """JSON side files of the export (file name -> object)."""

    def contents(self) -> str:
        """What an export of this task holds, in words (printed after exporting)."""

    def is_export(self, model_dir: str) -> bool:
        """Whether `model_dir` is an export of this task."""

    def predictor(self, model_dir: str, options: PredictOptions) -> TaskPredictor:
        """Loads this task's export at `model_dir` (`options` may pick among its models)."""

    def litert(self) -> Any:
        """The task's LiteRT export (a module with ``export(run, export_dir, bundle, cost,
        ...)``, ``format_report(report, export_dir)`` and ``data_config(run)``), or None when the
        task exports as a SavedModel only."""


def check_export_dir(model_dir: str) -> None:
    """EnasError unless `model_dir` is a folder holding a SavedModel."""
    if not os.path.isdir(model_dir):
        raise EnasError(f"--model_dir {model_dir} does not exist")
    if not os.path.isfile(os.path.join(model_dir, "saved_model.pb")):
        raise EnasError(f"--model_dir {model_dir} holds no SavedModel (saved_model.pb); "
                        f"create one with enas-export")


def load_saved_model(model_dir: str, signatures: Sequence[str]):
    """`tf.saved_model.load` of `model_dir`, checked to hold `signatures`, without the warnings
    about dropped gradient functions: the export leaves out custom gradients (serving needs
    none), and TF would say so once per function on load, which only confuses a user running
    predictions."""
    import tensorflow as tf
    from absl import logging as absl_logging

    check_export_dir(model_dir)
    level = absl_logging.get_verbosity()
    absl_logging.set_verbosity(absl_logging.ERROR)
    try:
        loaded = tf.saved_model.load(model_dir)
    finally:
        absl_logging.set_verbosity(level)
    for name in signatures:
        if name not in loaded.signatures:
            raise EnasError(f"the SavedModel in {model_dir} has no {name!r} signature")
    return loaded
