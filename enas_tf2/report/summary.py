"""`SearchSummary`: what a search run folder says, as ``summary.json`` and as series for the plots.

``summary.json`` holds the best architecture and its reward, the controller-vs-random comparison
of the derive step, the cost (epochs, steps, wall time, images or tokens seen, controller samples),
the last values of the curves, the task facts used to read them and the health warnings.

The readers tolerate fields that newer runs add: a per-epoch ``op_hist`` or ``skip_rate`` in
``progress.jsonl`` is used when present (else op counts come from the ``controller`` rows of
``archs.jsonl``), and a language model's ``*_ppl`` columns switch the score to perplexity.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional

from enas_tf2.report import health
from enas_tf2.report.run_folder import RunFolder
from enas_tf2.training.run_log import format_duration

# What is known about the task when nothing says otherwise (image classification).
DEFAULT_TASK = {"score": "accuracy", "higher_is_better": True, "unit": "img",
                "examples_per_step": None, "num_classes": None, "vocab_size": None}
_TRAIN_METRIC = {"accuracy": ("child_acc",), "perplexity": ("child_ppl", "child_perplexity")}
# Known scores: (higher is better, what throughput counts).
_SCORES = {"accuracy": (True, "img"), "perplexity": (False, "tok")}


def _num(value) -> Optional[float]:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _mean(values: List[float]) -> Optional[float]:
    return sum(values) / len(values) if values else None


class SearchSummary:
    """The summary of one search run folder.

    Args:
      folder: the read `RunFolder`.
      task: task facts that override what the folder says (keys of `DEFAULT_TASK`, e.g. from
        the search loop: ``num_classes``, ``examples_per_step``, ``score``, ``unit``).

    Attributes:
      task: the task facts used; epochs: epoch numbers of the progress rows; columns: numeric
        progress columns by name (aligned with `epochs`, None where missing); op_hist: epoch →
        op name → count; skip_rate: epoch → rate; rewards: epoch → controller rewards;
        derive: ``{"controller": [...], "random": [...]}`` rewards of the derive step;
        space/arch: the derived architecture (None before the search finished);
        warnings: the fired `HealthWarning`s.
    """

    def __init__(self, folder: RunFolder, task: Optional[Dict[str, Any]] = None):
        self.folder = folder
        self.task = dict(DEFAULT_TASK)
        self.task.update({k: v for k, v in (folder.summary.get("task") or {}).items()
                          if k in DEFAULT_TASK})
        data_cfg = folder.config.get("data") if isinstance(folder.config.get("data"), dict) else {}
        for key in ("num_classes", "vocab_size", "examples_per_step"):
            if data_cfg.get(key) is not None:
                self.task[key] = data_cfg[key]
        score = ((folder.arch_obj or {}).get("derive") or {}).get("score")
        if score not in _SCORES and any(k.endswith("_ppl") for row in folder.progress for k in row):
            score = "perplexity"
        if score in _SCORES:
            self.task.update(score=score, higher_is_better=_SCORES[score][0],
                             unit=_SCORES[score][1])
        self.task.update({k: v for k, v in (task or {}).items() if v is not None})
        rows = sorted(folder.progress, key=lambda r: r.get("epoch", 0))
        self.rows = rows
        self.epochs = [int(r.get("epoch", i)) for i, r in enumerate(rows)]
        keys = []
        for row in rows:
            keys.extend(k for k, v in row.items() if k not in keys and k != "epoch"
                        and _num(v) is not None and not isinstance(v, bool))
        self.columns = {k: [_num(r.get(k)) for r in rows] for k in keys}
        pair = folder.best_arch()
        self.space, self.arch = pair if pair else (None, None)
        self._gather_archs()
        self.warnings = self._health()

    # ---- per-epoch series from archs.jsonl / progress.jsonl -----------------------------------
    def _gather_archs(self) -> None:
        self.rewards: Dict[int, List[float]] = {}
        self.op_hist: Dict[int, Dict[str, float]] = {}
        self.skip_rate: Dict[int, float] = {}
        self.best_sample: Dict[int, float] = {}
        self.derive = {"controller": [], "random": []}
        for row, epoch in zip(self.rows, self.epochs):
            if isinstance(row.get("op_hist"), dict):
                self.op_hist[epoch] = {k: float(v) for k, v in row["op_hist"].items()
                                       if _num(v) is not None and "skip" not in k.lower()}
            if _num(row.get("skip_rate")) is not None:
                self.skip_rate[epoch] = _num(row["skip_rate"])
        logged_hist, logged_skip = set(self.op_hist), set(self.skip_rate)
        derive_epoch = max((r.get("epoch", 0) for r in self.folder.archs
                            if r.get("kind") in ("derive", "derive_random")), default=None)
        parsed, skips, has_skip_rate = {}, {}, None
        pick = max if self.task["higher_is_better"] else min
        for row in self.folder.archs:
            kind, epoch, reward = row.get("kind"), int(row.get("epoch", 0)), _num(row.get("reward"))
            if kind == "controller":
                if reward is not None:
                    self.rewards.setdefault(epoch, []).append(reward)
                # Parse only what the progress rows did not already log.
                if epoch in logged_hist and (has_skip_rate is False or epoch in logged_skip):
                    continue
                tokens = row["tokens"]
                if tokens not in parsed:
                    parsed[tokens] = self.folder.parse_tokens(tokens)
                arch = parsed[tokens]
                if epoch not in logged_hist:
                    hist = self.op_hist.setdefault(epoch, {})
                    for name, count in arch.histogram().items():
                        if "skip" not in name.lower():   # skip counts are not op choices
                            hist[name] = hist.get(name, 0) + count
                has_skip_rate = callable(getattr(arch, "skip_rate", None))
                if has_skip_rate and epoch not in logged_skip:
                    skips.setdefault(epoch, []).append(float(arch.skip_rate()))
            elif kind == "epoch_sample" and reward is not None:
                self.best_sample[epoch] = pick(self.best_sample.get(epoch, reward), reward)
            elif kind in ("derive", "derive_random") and row.get("epoch", 0) == derive_epoch \
                    and reward is not None:
                self.derive["controller" if kind == "derive" else "random"].append(reward)
        self.skip_rate.update({e: sum(v) / len(v) for e, v in skips.items()})

    def train_metric_name(self) -> Optional[str]:
        """The progress column of the child's training metric (``child_acc``, ``child_ppl``)."""
        for name in _TRAIN_METRIC.get(self.task["score"], ()):
            if name in self.columns:
                return name
        return None

    def chance(self) -> Optional[float]:
        """The training metric of a model that guesses: 1/classes, or the vocabulary size."""
        return health.chance_of(self.task["score"], self.task)

    def _health(self) -> List[health.HealthWarning]:
        last_ops = self.op_hist[max(self.op_hist)] if self.op_hist else {}
        last_skip = self.skip_rate[max(self.skip_rate)] if self.skip_rate else None
        if self.rewards:
            rewards, min_samples = self.rewards[max(self.rewards)], health.MIN_REWARD_SAMPLES
        else:  # per-epoch means only: their spread over the last 3 epochs
            rewards = [v for v in self.columns.get("reward_mean", [])[-3:] if v is not None]
            min_samples = 3
        metric = self.train_metric_name()
        return health.check_search(
            entropies=self.columns.get("entropy", []), op_counts=last_ops, skip_rate=last_skip,
            rewards=rewards, reward_min_samples=min_samples,
            train_metric=self.columns.get(metric, []) if metric else [],
            chance=self.chance(), higher_is_better=bool(self.task["higher_is_better"]))

    # ---- summary.json -------------------------------------------------------------------------
    def comparison(self) -> Dict[str, Any]:
        """Controller-vs-random rewards of the derive step (from archs.jsonl, else arch.json)."""
        ctrl, rand = self.derive["controller"], self.derive["random"]
        saved = (self.folder.arch_obj or {}).get("derive") or {}
        pick = max if self.task["higher_is_better"] else min
        out = {"num_samples": len(ctrl) or saved.get("num_samples"),
               "controller_mean_reward": _mean(ctrl) if ctrl else saved.get(
                   "controller_mean_reward"),
               "random_mean_reward": _mean(rand) if rand else saved.get("random_mean_reward"),
               "controller_best_reward": pick(ctrl) if ctrl else None,
               "random_best_reward": pick(rand) if rand else saved.get("random_best_reward")}
        c, r = _num(out["controller_mean_reward"]), _num(out["random_mean_reward"])
        up = bool(self.task["higher_is_better"])   # a perplexity "reward" is better when lower
        out["controller_minus_random"] = None if c is None or r is None else c - r
        out["controller_beats_random"] = None if c is None or r is None else (c > r) == up
        if ctrl and rand:
            better = [(v > _mean(rand)) == up for v in ctrl]
            out["controller_better_than_random_mean"] = sum(better) / len(ctrl)
        return out

    def cost(self) -> Dict[str, Any]:
        """Epochs, steps, wall time, examples seen and controller samples of the run."""
        steps = self.columns.get("step", [])
        last_step = next((int(v) for v in reversed(steps) if v is not None), None)
        seconds = sum(v for v in self.columns.get("seconds", []) if v is not None)
        per_step = self.task.get("examples_per_step")
        seen = None
        for key in ("examples_seen", "images_seen", "tokens_seen"):
            if self.columns.get(key) and self.columns[key][-1] is not None:
                seen = int(self.columns[key][-1])
        if seen is None and per_step and last_step is not None:
            seen = int(per_step) * last_step
        unit = "images" if self.task.get("unit") == "img" else "tokens"
        return {"epochs": len(self.rows), "steps": last_step, "wall_seconds": round(seconds, 2),
                "wall_time": format_duration(seconds), f"{unit}_seen": seen,
                "controller_samples": sum(len(v) for v in self.rewards.values())}

    def last_values(self) -> Dict[str, Any]:
        """The last non-missing value of every progress column."""
        out = {}
        for name, values in self.columns.items():
            found = [v for v in values if v is not None]
            if found and name not in ("step", "seconds"):
                out[name] = found[-1]
        return out

    def to_json(self) -> Dict[str, Any]:
        """The ``summary.json`` object."""
        best = None
        if self.arch is not None:
            best = {"tokens": self.arch.tokens(), "arch": self.arch.to_json(),
                    "reward": _num((self.folder.arch_obj or {}).get("reward")),
                    "histogram": self.arch.histogram()}
        return {"search_space": self.folder.space_name, "finished": self.arch is not None,
                "best": best, "comparison": self.comparison(), "cost": self.cost(),
                "last": self.last_values(), "task": self.task,
                "warnings": [w.to_json() for w in self.warnings]}
