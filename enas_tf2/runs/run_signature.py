"""Is a rerun the same run? The saved ``experiment.json`` against the rerun's configuration.

Rerunning a command resumes its run folder. A changed setting falls in one of two classes:

* it would corrupt the run (the checkpoint's shapes or meaning, or the data and batches the
  finished epochs were trained on): the search space, the task, any space setting (layers,
  filters, cells, ...), any data setting (path, batch sizes, image size, split), the seed, the
  search strategy, mixed precision (it changes the optimizer's state), the controller's LSTM
  shape, the kind of run (search vs final training) and a final run's architecture. Such a rerun
  is refused with ONE line listing every differing field (saved -> new);
* it is bookkeeping or a recipe choice for the epochs still to run (epochs to run, log interval,
  caps, checkpoints kept, evaluation cadence, derive settings, strategy, learning rates, ...):
  accepted, and each change is logged.

TensorFlow-free.
"""

from __future__ import annotations

import json
import os
from typing import Dict, List, Optional, Tuple

from enas_tf2.errors import EnasError

EXPERIMENT_FILE = "experiment.json"

# Dotted field prefixes whose change is refused on resume. Everything else is accepted and logged.
REFUSED_PREFIXES = ("kind", "arch", "space", "task", "space_config.", "data.", "run.seed",
                    "run.search_strategy", "run.mixed_precision", "controller.lstm_size",
                    "controller.lstm_num_layers")
# Never compared: where the folder is (it may have been moved) and per-invocation switches.
IGNORED = ("run.output_dir", "run.reset_output_dir", "run.force", "run.preflight", "run.dry_run",
           "run.memory_limit_gb")
# Data settings that do not change what the finished epochs saw: accepted and logged.
ACCEPTED = ("data.skip_corrupt_records",)


def flatten(obj, prefix: str = "") -> Dict[str, object]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``; lists stay values (an image size, a class list)."""
    flat: Dict[str, object] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and key != "arch":
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def _normal(value):
    """JSON round trip: tuples read back as lists, so (32, 32) equals [32, 32]."""
    return json.loads(json.dumps(value, default=str))


def is_refused(field: str) -> bool:
    """Whether a change of `field` (dotted) would corrupt a resumed run."""
    if field in ACCEPTED:
        return False
    return any(field == p or (p.endswith(".") and field.startswith(p))
               or field.startswith(p + ".") for p in REFUSED_PREFIXES)


def compare(saved: dict, new: dict) -> Tuple[List[str], List[str]]:
    """``(refused, accepted)`` changes between two experiment objects, each as
    ``field saved -> new`` text, sorted by field."""
    old_flat, new_flat = flatten(_normal(saved)), flatten(_normal(new))
    refused, accepted = [], []
    for field in sorted(set(old_flat) | set(new_flat)):
        if field in IGNORED:
            continue
        missing = object()
        before, after = old_flat.get(field, missing), new_flat.get(field, missing)
        # A field only one side has was added or removed by a newer version of the code: not a
        # change of the user's settings.
        if before is missing or after is missing or before == after:
            continue
        text = f"{field} {_short(before)} -> {_short(after)}"
        (refused if is_refused(field) else accepted).append(text)
    return refused, accepted


def _short(value) -> str:
    if isinstance(value, dict) and "tokens" in value:
        value = value["tokens"]
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def read_saved(output_dir: str) -> Optional[dict]:
    """The saved experiment object of a run folder, or None (fresh folder, or unreadable)."""
    path = os.path.join(output_dir, EXPERIMENT_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            obj = json.load(f)
    except (OSError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None


def infer_kind(output_dir: str, saved: dict) -> Optional[str]:
    """The kind of the run saved in `output_dir`: its ``kind`` entry, else a final run when
    ``run_config.json`` holds an architecture, else a search (folders from older versions)."""
    if saved.get("kind"):
        return saved["kind"]
    try:
        with open(os.path.join(output_dir, "run_config.json"), encoding="utf-8") as f:
            run_config = json.load(f)
        if isinstance(run_config, dict) and run_config.get("arch"):
            return "final"
    except (OSError, ValueError):
        pass
    return "search"


def check_resume(output_dir: str, new: dict) -> List[str]:
    """Compares `new` with the experiment saved in `output_dir`; returns the accepted changes
    (to log). Raises EnasError listing the refused ones."""
    saved = read_saved(output_dir)
    if saved is None:
        return []
    saved = dict(saved, kind=infer_kind(output_dir, saved))
    saved, new = _real_data_path(saved), _real_data_path(new)
    if saved["kind"] != new.get("kind"):
        raise EnasError(
            f"--output_dir {output_dir} holds a {_kind_name(saved['kind'])} run, not a "
            f"{_kind_name(new.get('kind'))} run; use another --output_dir (or "
            f"--reset_output_dir to delete it)")
    refused, accepted = compare(saved, new)
    if refused:
        raise EnasError(
            f"--output_dir {output_dir} holds a run with other settings; resuming it with these "
            f"would corrupt it. Differing: {'; '.join(refused)}. Rerun with the saved settings "
            f"(see {os.path.join(output_dir, EXPERIMENT_FILE)}), use another --output_dir, or "
            f"start over with --reset_output_dir")
    return accepted


def _real_data_path(obj: dict) -> dict:
    """The same folder written relative or absolute is the same data."""
    data = obj.get("data")
    if isinstance(data, dict) and data.get("data_path"):
        obj = dict(obj, data=dict(data, data_path=os.path.realpath(
            os.path.expanduser(str(data["data_path"])))))
    return obj


def _kind_name(kind) -> str:
    return {"search": "search", "final": "final-training"}.get(kind, str(kind))
