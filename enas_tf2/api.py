"""The Python API: what every CLI and notebook calls (one code path for both).

    import enas_tf2
    cfg = enas_tf2.get_preset("cifar10_micro_search.smoke")
    found = enas_tf2.search(cfg)                              # -> SearchResult
    final = enas_tf2.train_final(enas_tf2.get_preset("cifar10_micro_final.smoke"), found.arch)
    enas_tf2.export_model(final.output_dir, "exports/my_model")

Configs are `ExperimentConfig`s (presets in `search_space/<space>/presets.py`; change fields with
``dataclasses.replace``). Every function raises `EnasError` with one clear line for bad input.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import sys
from typing import Any, Dict, Iterator, List, Optional

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


@contextlib.contextmanager
def _progress(verbose: int) -> Iterator[None]:
    """What a call shows, as Keras ``fit``'s `verbose`: 0 warnings only; 1 (default) the run's
    timestamped progress lines. With no handler on the ``enas_tf2`` logger (a notebook), one on
    stdout is added for the call; a handler the caller (or a command-line tool) put there is
    left as it is. (TensorFlow's start-up lines are muted when ``enas_tf2`` first imports it.)"""
    from enas_tf2.progress import show_progress
    logger = logging.getLogger("enas_tf2")
    handler, level, propagate = None, logger.level, logger.propagate
    if verbose <= 0:
        logger.setLevel(logging.WARNING)
    else:
        handler = show_progress(sys.stdout)
    try:
        yield
    finally:
        if handler is not None:
            logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


def _absolute_data_path(cfg: ExperimentConfig) -> ExperimentConfig:
    """`cfg` with a relative ``data.data_path`` made absolute against the folder the run starts
    in, so ``experiment.json`` names the data wherever a rerun, `enas-arch rank` or a report is
    started from (URLs such as ``gs://`` stay as given)."""
    path = getattr(cfg.data, "data_path", "")
    if not path or "://" in path or os.path.isabs(path):
        return cfg
    return cfg.replace(data=dataclasses.replace(cfg.data, data_path=os.path.abspath(path)))


def _prepare(cfg: ExperimentConfig, inputs=None, final: bool = False):
    """(strategy, space, task, run context) of an experiment; the strategy first, since it may
    split the CPU into logical devices before TensorFlow initialises them."""
    from enas_tf2.search_space.registry import get_space
    from enas_tf2.tasks.registry import get_task
    from enas_tf2.training.strategy import make_strategy
    strategy = make_strategy(cfg.run.strategy, cfg.run.num_cpu_devices)
    import keras
    import tensorflow as tf
    keras.utils.set_random_seed(cfg.run.seed)     # weight initialisation follows --seed too
    if cfg.run.deterministic:
        tf.config.experimental.enable_op_determinism()
        if os.environ.get("TF_ENABLE_ONEDNN_OPTS") != "0" \
                or os.environ.get("TF_NUM_INTEROP_THREADS") != "1":
            logging.getLogger("enas_tf2").warning(
                "warning: deterministic=True, but for bit-identical runs also set "
                "TF_ENABLE_ONEDNN_OPTS=0 and TF_NUM_INTEROP_THREADS=1 before importing "
                "TensorFlow (the command-line tools do this for --deterministic)")
    space = get_space(cfg.space, cfg.space_config)
    if space.task != cfg.task:
        raise EnasError(f"the {cfg.space} space serves the {space.task} task, not {cfg.task}")
    if inputs is None and getattr(cfg.data, "dataset", None) in ("cifar10", "tfrecord"):
        from enas_tf2.data.images.folder_hint import check_not_image_folder
        check_not_image_folder(cfg.data.data_path, cfg.data.dataset)
    task = get_task(cfg.task, cfg.data, cfg.optim, inputs, final=final)
    return strategy, space, task


@dataclasses.dataclass(frozen=True)
class DryRun:
    """What ``cfg.run.dry_run`` (``--dry_run``) returns instead of training: the pre-flight
    `Estimate` (peak memory, seconds per step, projected epoch and run times)."""
    estimate: Any
    lines: List[str]


def experiment_identity(cfg: ExperimentConfig, kind: str, arch=None) -> Dict[str, Any]:
    """What a run folder's ``experiment.json`` holds: the config, the kind of run ("search" /
    "final") and a final run's architecture; a rerun is compared with it."""
    identity = dict(cfg.to_json(), kind=kind)
    if arch is not None:
        identity["arch"] = arch.to_json()
    return identity


def _explained(task, fn, contexts: Optional[list] = None):
    """Runs `fn()`, turning TensorFlow data errors into the task's one-line explanation and a
    failed write in the run folder (disk full, read-only, deleted) into the run context's; the
    run folder's lock is released however `fn` ends."""
    contexts = [] if contexts is None else contexts
    try:
        return fn()
    except EnasError:
        raise
    except Exception as err:  # pylint: disable=broad-except
        for ctx in contexts:
            explained = ctx.explain_error(err)
            if explained is not err:
                raise explained from None
        explained = task.explain_error(err)
        if explained is err:
            raise
        raise explained from None
    finally:
        for ctx in contexts:
            ctx.close()


def _start(loop, kind: str, cfg: ExperimentConfig) -> None:
    """The pre-flight of a real run (unless ``cfg.run.preflight`` is off), logged before the
    first epoch; refuses a run that would not fit in memory (``--force`` overrides)."""
    if not cfg.run.preflight:
        return
    if cfg.run.strategy == "multi_worker":
        loop.log.info("pre-flight skipped under --strategy=multi_worker (its steps are "
                      "collective); --dry_run on one worker estimates the run")
        return
    from enas_tf2.training.preflight import run_preflight
    for line in run_preflight(loop, kind, force=cfg.run.force).lines():
        loop.log.info(line)


def search(cfg: ExperimentConfig, data=None, derive_only: bool = False,
           nb201_table: Optional[str] = None, oracle_samples: int = 500,
           verbose: int = 1) -> SearchResult:
    """Runs (or resumes) the search of `cfg` and derives `arch.json`.

    Args:
      cfg: the experiment (e.g. ``get_preset("cifar10_micro_search")`` with fields replaced).
      data: your own datasets instead of ``cfg.data.data_path``: an `ImageDatasets` (train and
        validation `tf.data.Dataset`s, see `data/images/user_datasets.py`) for image spaces.
      derive_only: derive from the newest checkpoint without training.
      nb201_table: the NAS-Bench-201 CSV (nb201 space only): read before the search (a bad
        table fails at once) but given to nothing inside it; afterwards ``arch.json`` and the
        report get the derived cell's true accuracy and percentile (`ranking/nb201_runs.py`).
      oracle_samples: cells drawn by ``run.search_strategy`` ``oracle``/``oracle_random`` (the
        controller's reward is the table's accuracy, no child training; needs `nb201_table`).
      verbose: 0 warnings only, 1 progress lines (default).

    Every run starts with the pre-flight (`training/preflight.py`; off with
    ``cfg.run.preflight=False``). With ``cfg.run.dry_run`` only the pre-flight runs, in a
    temporary folder, and a `DryRun` is returned instead of a `SearchResult`.
    """
    with _progress(verbose):
        return _search(cfg, data, derive_only, nb201_table, oracle_samples)


def _search(cfg: ExperimentConfig, data, derive_only: bool, nb201_table: Optional[str],
            oracle_samples: int) -> SearchResult:
    from enas_tf2.training.run_context import RunContext
    from enas_tf2.training.search_loop import SearchLoop
    if cfg.run.search_strategy in ("oracle", "oracle_random"):
        return oracle_search(cfg, nb201_table, oracle_samples)
    table = None
    if nb201_table:
        from enas_tf2.ranking.nb201_runs import require_nb201
        from enas_tf2.ranking.nb201_table import load_table
        require_nb201(cfg.space)
        table = load_table(nb201_table)
    if cfg.run.dry_run:
        return dry_run(cfg, data=data)
    cfg = _absolute_data_path(cfg)
    strategy, space, task = _prepare(cfg, data)
    contexts = []

    def run():
        contexts.append(RunContext(cfg.run, strategy, experiment_identity(cfg, "search")))
        loop = SearchLoop(cfg, space, task, contexts[0])
        if derive_only:
            if loop.state.restored is None:
                raise EnasError(f"--derive_only: no checkpoint in {cfg.run.output_dir}/ckpt")
            return loop.derive()
        _start(loop, "search", cfg)
        return loop.run()

    result = _explained(task, run, contexts)
    arch = space.arch_from_json(result)
    if table is not None:
        from enas_tf2.ranking.nb201_runs import annotate_search
        annotate_search(cfg.run.output_dir, table)
    return SearchResult(arch=arch, score=float(result["score"]), reward=float(result["reward"]),
                        derive=result["derive"],
                        output_dir=cfg.run.output_dir,
                        arch_json=os.path.join(cfg.run.output_dir, "arch.json"))


def oracle_search(cfg: ExperimentConfig, nb201_table: str,
                  num_samples: int = 500) -> SearchResult:
    """NAS-Bench-201 oracle mode (``cfg.run.search_strategy`` ``oracle`` or ``oracle_random``):
    `num_samples` cells drawn by the controller trained with REINFORCE on the table's true
    accuracy (or uniformly at random), no child training; `arch.json` holds the best cell.
    ``derive["top1_at"]`` is the best true accuracy after 10, 100, 500 samples."""
    from enas_tf2.ranking.nb201_runs import run_oracle
    result = run_oracle(cfg, nb201_table, num_samples)
    acc = result["best"]["cifar10_test_acc"] / 100.0
    return SearchResult(arch=result["arch"], score=acc, reward=acc,
                        derive={"strategy": result["strategy"], "top1_at": result["top1_at"],
                                "samples": result["samples"]},
                        output_dir=cfg.run.output_dir,
                        arch_json=os.path.join(cfg.run.output_dir, "arch.json"))


def naswot(data_path: str, num_cells: int = 100, seed: int = 0, batch_size: int = 128,
           nb201_table: Optional[str] = None, space_config: Optional[Any] = None,
           output_dir: Optional[str] = None) -> Dict[str, Any]:
    """The NASWOT zero-cost baseline on the nb201 space: scores `num_cells` random cells at
    initialisation on `batch_size` CIFAR-10 images of `data_path` and keeps the best; with
    `nb201_table`, reports true accuracies. Returns ``{"rows", "best", "arch", ...}``
    (`ranking/naswot.py`)."""
    from enas_tf2.ranking.nb201_runs import run_naswot
    return run_naswot(data_path, num_cells, seed, batch_size, nb201_table, space_config,
                      output_dir)


def nb201_truth(arch, nb201_table: str) -> Dict[str, Any]:
    """The true CIFAR-10 accuracy, percentile among all 15,625 cells and benchmark index of an
    nb201 `arch`, from the NAS-Bench-201 CSV `nb201_table`."""
    from enas_tf2.ranking.nb201_table import load_table
    if not nb201_table:
        raise EnasError("nb201_truth needs the path of the NAS-Bench-201 table")
    return load_table(nb201_table).truth(arch)


def train_final(cfg: ExperimentConfig, arch, data=None, verbose: int = 1) -> FinalResult:
    """Trains (or resumes) the fixed network of `arch` (an `Arch` of ``cfg.space``); `data` as
    in `search` (with a validation dataset, the best-validation weights are kept and the test
    dataset is scored once at the end); `verbose` as in `search`. With ``cfg.run.dry_run``, a
    `DryRun` is returned (see `dry_run`)."""
    with _progress(verbose):
        return _train_final(cfg, arch, data)


def _train_final(cfg: ExperimentConfig, arch, data) -> FinalResult:
    from enas_tf2.training.final_loop import FinalLoop
    from enas_tf2.training.run_context import RunContext
    cfg = _absolute_data_path(cfg)
    strategy, space, task = _prepare(cfg, data, final=True)
    if getattr(arch, "search_space", None) != cfg.space:
        raise EnasError(f"train_final got a {type(arch).__name__} for the "
                        f"{getattr(arch, 'search_space', '?')} space, but the config is for "
                        f"{cfg.space}")
    arch = space.arch_from_json(arch.to_json())   # validates it against the space's config
    if cfg.run.dry_run:
        return dry_run(cfg, arch, data=data)
    contexts = []

    def run():
        contexts.append(RunContext(cfg.run, strategy, experiment_identity(cfg, "final", arch)))
        loop = FinalLoop(cfg, space, task, arch, contexts[0])
        _start(loop, "final", cfg)
        return loop, loop.run()

    loop, metrics = _explained(task, run, contexts)
    return FinalResult(metrics=metrics, num_params=loop.num_params, output_dir=cfg.run.output_dir)


def dry_run(cfg: ExperimentConfig, arch=None, data=None) -> DryRun:
    """Builds the run of `cfg` (a search, or the final training of `arch`) in a temporary folder,
    runs a few steps of each kind and returns (and prints) the pre-flight estimate: peak memory
    against the machine's, seconds per step, projected time per epoch and for the epochs
    ``cfg.run.output_dir`` still has to run. Nothing is written to ``cfg.run.output_dir``."""
    import shutil
    import tempfile
    from enas_tf2.json_file import read_jsonl
    from enas_tf2.training.preflight import run_preflight
    from enas_tf2.training.run_context import RunContext, has_saved_state
    kind = "search" if arch is None else "final"
    real_dir = cfg.run.output_dir
    done = 0
    if has_saved_state(real_dir):
        done = max([int(r.get("epoch", 0))
                    for r in read_jsonl(os.path.join(real_dir, "progress.jsonl"))] + [0])
    folder = tempfile.mkdtemp(prefix="enas_dry_run_")
    cfg = cfg.replace(run=dataclasses.replace(cfg.run, output_dir=folder, reset_output_dir=False,
                                              dry_run=False))
    strategy, space, task = _prepare(cfg, data, final=arch is not None)

    def run():
        ctx = RunContext(cfg.run, strategy)
        if arch is None:
            from enas_tf2.training.search_loop import SearchLoop
            loop = SearchLoop(cfg, space, task, ctx)
        else:
            from enas_tf2.training.final_loop import FinalLoop
            loop = FinalLoop(cfg, space, task, space.arch_from_json(arch.to_json()), ctx)
        try:
            estimate = run_preflight(loop, kind, force=cfg.run.force, dry=True,
                                     epochs_done=done)
        finally:
            loop.log.flush()
        return estimate

    try:
        estimate = _explained(task, run)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    lines = estimate.lines()
    if not estimate.fits:
        lines.append(f"pre-flight: a real run would be refused: {estimate.refusal()}")
    for line in lines:
        print(line, flush=True)
    return DryRun(estimate=estimate, lines=lines)


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


def export_model(train_dir: str, export_dir: str, overwrite: bool = False) -> str:
    """Exports a finished final-training run as a SavedModel with its task's signatures plus
    `model.keras`, `arch.json` and the task's side files (see `export/saved_model.py`); returns
    `export_dir`."""
    from enas_tf2.export.saved_model import export_run
    export_run(train_dir, export_dir, overwrite=overwrite)
    return export_dir


def load_predictor(export_dir: str):
    """The predictor of an export folder, whatever its task: an image classifier's `Predictor`
    (``predict_files(paths, top_k)``, ``probabilities(encoded_images)``) or a language model's
    `LmPredictor` (``perplexity(lines)``, ``next_words(prefixes, k)``)."""
    from enas_tf2.export.predictor import load_predictor as load
    return load(export_dir)
