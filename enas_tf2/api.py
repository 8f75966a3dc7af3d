"""The Python API: what every CLI and notebook calls (one code path for both).

    import enas_tf2
    cfg = enas_tf2.get_preset("cifar10_micro_search.smoke")
    found = enas_tf2.search(cfg)                              # -> SearchResult
    final = enas_tf2.train_final(enas_tf2.get_preset("cifar10_micro_final.smoke"), found.arch)
    enas_tf2.export(final.output_dir, "exports/my_model")

Configs are `ExperimentConfig`s (presets in `configs/presets.py`; change fields with
``dataclasses.replace``). Every function raises `EnasError` with one clear line for bad input.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Dict, Optional

from enas_tf2.configs.base import ExperimentConfig
from enas_tf2.errors import EnasError


@dataclasses.dataclass(frozen=True)
class SearchResult:
    """What a search found: the derived architecture and where everything was written."""
    arch: Any                    # the space's `Arch`
    score: float                 # its task score (accuracy, perplexity) on the derive batches
    reward: float                # its controller reward there (accuracy, 80 / perplexity)
    derive: Dict[str, Any]       # controller vs random comparison (see arch.json)
    output_dir: str
    arch_json: str               # path of arch.json


@dataclasses.dataclass(frozen=True)
class FinalResult:
    """The outcome of final training: metrics (test once, at the end) and the run folder."""
    metrics: Dict[str, Any]
    num_params: int
    output_dir: str


def _prepare(cfg: ExperimentConfig, inputs=None, final: bool = False):
    """(strategy, space, task, run context) of an experiment; the strategy first, since it may
    split the CPU into logical devices before TensorFlow initialises them."""
    from enas_tf2.search_space.registry import get_space
    from enas_tf2.tasks.registry import get_task
    from enas_tf2.training.strategy import make_strategy
    strategy = make_strategy(cfg.run.strategy, cfg.run.num_cpu_devices)
    space = get_space(cfg.space, cfg.space_config)
    if space.task != cfg.task:
        raise EnasError(f"the {cfg.space} space serves the {space.task} task, not {cfg.task}")
    task = get_task(cfg.task, cfg.data, cfg.optim, inputs, final=final)
    return strategy, space, task


def _explained(task, fn):
    """Runs `fn()`, turning TensorFlow data errors into the task's one-line explanation."""
    try:
        return fn()
    except EnasError:
        raise
    except Exception as err:  # pylint: disable=broad-except
        explained = task.explain_error(err)
        if explained is err:
            raise
        raise explained from None


def search(cfg: ExperimentConfig, data=None, derive_only: bool = False) -> SearchResult:
    """Runs (or resumes) the search of `cfg` and derives `arch.json`.

    Args:
      cfg: the experiment (e.g. ``get_preset("cifar10_micro_search")`` with fields replaced).
      data: your own datasets instead of ``cfg.data.data_path``: an `ImageDatasets` (train and
        validation `tf.data.Dataset`s, see `data/images/user_datasets.py`) for image spaces.
      derive_only: derive from the newest checkpoint without training.
    """
    from enas_tf2.training.run_context import RunContext
    from enas_tf2.training.search_loop import SearchLoop
    strategy, space, task = _prepare(cfg, data)

    def run():
        loop = SearchLoop(cfg, space, task, RunContext(cfg.run, strategy))
        if derive_only:
            if loop.state.restored is None:
                raise EnasError(f"--derive_only: no checkpoint in {cfg.run.output_dir}/ckpt")
            return loop.derive()
        return loop.run()

    result = _explained(task, run)
    arch = space.arch_from_json(result)
    return SearchResult(arch=arch, score=float(result["score"]), reward=float(result["reward"]),
                        derive=result["derive"],
                        output_dir=cfg.run.output_dir,
                        arch_json=os.path.join(cfg.run.output_dir, "arch.json"))


def train_final(cfg: ExperimentConfig, arch, data=None) -> FinalResult:
    """Trains (or resumes) the fixed network of `arch` (an `Arch` of ``cfg.space``); `data` as
    in `search` (with a validation dataset, the best-validation weights are kept and the test
    dataset is scored once at the end)."""
    from enas_tf2.training.final_loop import FinalLoop
    from enas_tf2.training.run_context import RunContext
    strategy, space, task = _prepare(cfg, data, final=True)
    if getattr(arch, "search_space", None) != cfg.space:
        raise EnasError(f"train_final got a {type(arch).__name__} for the "
                        f"{getattr(arch, 'search_space', '?')} space, but the config is for "
                        f"{cfg.space}")
    arch = space.arch_from_json(arch.to_json())   # validates it against the space's config

    def run():
        loop = FinalLoop(cfg, space, task, arch, RunContext(cfg.run, strategy))
        return loop, loop.run()

    loop, metrics = _explained(task, run)
    return FinalResult(metrics=metrics, num_params=loop.num_params, output_dir=cfg.run.output_dir)


def load_arch_json(path: str) -> Dict[str, Any]:
    """Reads an `arch.json` (or a run folder holding one) as a dict; EnasError when unreadable."""
    if os.path.isdir(path):
        path = os.path.join(path, "arch.json")
    try:
        with open(path) as f:
            obj = json.load(f)
    except OSError as err:
        raise EnasError(f"cannot read --arch_json {path}: {err.strerror}") from err
    except json.JSONDecodeError as err:
        raise EnasError(f"--arch_json {path} is not valid JSON ({err.msg} at line "
                        f"{err.lineno})") from None
    if not isinstance(obj, dict):
        raise EnasError(f"--arch_json {path} must hold a JSON object")
    return obj


def load_arch(path: str, space_config: Optional[Any] = None):
    """The architecture of an `arch.json` file or run folder, as its space's `Arch`."""
    from enas_tf2.search_space.registry import get_space
    obj = load_arch_json(path)
    name = obj.get("search_space")
    if not isinstance(name, str):
        raise EnasError(f"{path}: no 'search_space' entry; is this an enas_tf2 arch.json?")
    return get_space(name, space_config).arch_from_json(obj)


def parse_arch_json(space: str, obj: Dict[str, Any], space_config: Optional[Any] = None):
    """An architecture of `space` from an `arch.json` object (refused when of another space)."""
    from enas_tf2.search_space.registry import get_space
    return get_space(space, space_config).arch_from_json(obj)


def parse_arch(space: str, tokens: str, space_config: Optional[Any] = None):
    """An architecture of `space` from the original token string."""
    from enas_tf2.search_space.registry import get_space
    return get_space(space, space_config).arch_from_tokens(tokens)


def export(train_dir: str, export_dir: str, overwrite: bool = False) -> str:
    """Exports a finished final-training run as a SavedModel plus `model.keras`, `arch.json`,
    `labels.json` and `preprocessing.json` (see `export/saved_model.py`); returns `export_dir`."""
    from enas_tf2.export.saved_model import export_run
    export_run(train_dir, export_dir, overwrite=overwrite)
    return export_dir
