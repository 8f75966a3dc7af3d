"""Search health warnings: pure checks on a run's numbers, each with a documented threshold.

Every check takes plain numbers (no files, no TensorFlow) and returns a `HealthWarning` or None,
so each is unit-tested on synthetic rows. `check_search` runs them all on what `summary.py`
gathered from a run folder. Messages are one line: what is wrong, the evidence, what to try.

Thresholds (module constants, so a reader sees them in one place):

* entropy collapse: the latest controller entropy is below ``ENTROPY_COLLAPSE_RATIO`` (10%) of the
  first recorded one; sampling is then nearly deterministic and the search stops exploring.
* one op dominates: one op name is more than ``OP_DOMINANCE`` (60%) of the op choices sampled by the
  controller in the latest epoch (uniform over 5 micro ops would be 20%).
* parameter-free ops dominate: pooling / identity / skip ops make up more than
  ``PASSTHROUGH_DOMINANCE`` (70%) of the latest op choices: the known ENAS failure mode where
  shallow, cheap cells win early rewards on an under-trained shared child.
* skips dominate: a skip rate above ``SKIP_RATE_HIGH`` (0.8) in the latest epoch (macro space).
* flat rewards: the standard deviation of the latest epoch's controller rewards is below
  ``FLAT_REWARD_STD`` (0.001) over at least ``MIN_REWARD_SAMPLES`` samples (or, without per-sample
  rows, of the last 3 epochs' mean rewards): REINFORCE then has no signal left.
* child at chance: the child's training metric stayed within ``CHANCE_MARGIN`` (1.5x) of chance
  (accuracy <= 1.5 / classes; perplexity >= vocabulary / 1.5) in each of the last (up to) 3 epochs.
"""

from __future__ import annotations

import math
from typing import Dict, List, NamedTuple, Optional, Sequence

ENTROPY_COLLAPSE_RATIO = 0.1
OP_DOMINANCE = 0.6
PASSTHROUGH_DOMINANCE = 0.7
SKIP_RATE_HIGH = 0.8
FLAT_REWARD_STD = 1e-3
MIN_REWARD_SAMPLES = 4
MIN_OP_DECISIONS = 10
CHANCE_MARGIN = 1.5
CHANCE_EPOCHS = 3
# Op names that carry no weights: the "skip/pool" side of the search space.
PASSTHROUGH_WORDS = ("pool", "identity", "skip")


class HealthWarning(NamedTuple):
    """One warning: a stable `code` for tools and a one-line `message` for people."""

    code: str
    message: str

    def to_json(self) -> Dict[str, str]:
        """The ``{"code", "message"}`` object written into summary.json."""
        return {"code": self.code, "message": self.message}


def _finite(values: Sequence[Optional[float]]) -> List[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def entropy_collapse(entropies: Sequence[Optional[float]],
                     ratio: float = ENTROPY_COLLAPSE_RATIO) -> Optional[HealthWarning]:
    """Warns when the last entropy is below `ratio` times the first (per-epoch means)."""
    values = _finite(entropies)
    if len(values) < 2 or values[0] <= 0 or values[-1] >= ratio * values[0]:
        return None
    return HealthWarning(
        "entropy_collapsed",
        f"controller entropy collapsed to {values[-1]:.3g} from {values[0]:.3g} "
        f"(< {ratio:.0%} of its start): the policy stopped exploring; raise "
        f"--controller_entropy_weight or lower --controller_tanh_constant")


def op_dominance(op_counts: Dict[str, float],
                 threshold: float = OP_DOMINANCE) -> Optional[HealthWarning]:
    """Warns when one op is more than `threshold` of the sampled op choices."""
    total = sum(op_counts.values())
    if total < MIN_OP_DECISIONS:
        return None
    name, count = max(op_counts.items(), key=lambda kv: kv[1])
    if count / total <= threshold:
        return None
    return HealthWarning(
        "op_dominates",
        f"one op dominates the sampled architectures: {name} is {count / total:.0%} of "
        f"{int(total)} op choices (> {threshold:.0%}); the controller may have converged early")


def passthrough_dominance(op_counts: Dict[str, float],
                          threshold: float = PASSTHROUGH_DOMINANCE) -> Optional[HealthWarning]:
    """Warns when parameter-free ops (pool / identity / skip) are more than `threshold`."""
    total = sum(op_counts.values())
    if total < MIN_OP_DECISIONS:
        return None
    names = [n for n in op_counts if any(w in n.lower() for w in PASSTHROUGH_WORDS)]
    share = sum(op_counts[n] for n in names) / total
    if not names or share <= threshold:
        return None
    return HealthWarning(
        "passthrough_ops_dominate",
        f"skip/pool ops dominate: {', '.join(sorted(names))} make up {share:.0%} of the sampled "
        f"op choices (> {threshold:.0%}); shallow cells are winning on an under-trained child")


def skip_dominance(skip_rate: Optional[float],
                   threshold: float = SKIP_RATE_HIGH) -> Optional[HealthWarning]:
    """Warns when the sampled skip rate is above `threshold`."""
    if skip_rate is None or not math.isfinite(skip_rate) or skip_rate <= threshold:
        return None
    return HealthWarning(
        "skips_dominate",
        f"skip connections dominate: skip rate {skip_rate:.2f} (> {threshold}); check "
        f"--controller_skip_target and --controller_skip_weight")


def rewards_flat(rewards: Sequence[Optional[float]], min_std: float = FLAT_REWARD_STD,
                 min_samples: int = MIN_REWARD_SAMPLES) -> Optional[HealthWarning]:
    """Warns when the rewards have a standard deviation below `min_std`."""
    values = _finite(rewards)
    if len(values) < min_samples:
        return None
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    if std >= min_std:
        return None
    return HealthWarning(
        "rewards_flat",
        f"rewards stopped varying: std {std:.2g} over {len(values)} samples (mean {mean:.4f}); "
        f"REINFORCE has no signal, check the child trains and --valid_size is large enough")


def chance_of(score: str, facts: dict) -> Optional[float]:
    """The training metric of a model that guesses: 1/classes for accuracy, the vocabulary size
    for perplexity (`facts` holds ``num_classes`` / ``vocab_size``); None when unknown."""
    if score == "accuracy" and facts.get("num_classes"):
        return 1.0 / float(facts["num_classes"])
    if score == "perplexity" and facts.get("vocab_size"):
        return float(facts["vocab_size"])
    return None


def child_at_chance(train_metric: Sequence[Optional[float]], chance: Optional[float],
                    higher_is_better: bool = True, margin: float = CHANCE_MARGIN,
                    epochs: int = CHANCE_EPOCHS) -> Optional[HealthWarning]:
    """Warns when each of the last `epochs` training metrics is within `margin`x of `chance`."""
    values = _finite(train_metric)
    if chance is None or chance <= 0 or not values:
        return None
    last = values[-epochs:]
    if higher_is_better:
        stuck = all(v <= chance * margin for v in last)
    else:
        stuck = all(v >= chance / margin for v in last)
    if not stuck:
        return None
    return HealthWarning(
        "child_at_chance",
        f"the child's training metric stays at chance: {', '.join(f'{v:.3f}' for v in last)} "
        f"in the last {len(last)} epoch(s) vs chance {chance:.3g}; train longer or check the data "
        f"and the learning rate (--child_lr_max; enas-ptb: --child_lr)")


def check_search(*, entropies, op_counts, skip_rate, rewards, train_metric, chance,
                 higher_is_better: bool,
                 reward_min_samples: int = MIN_REWARD_SAMPLES) -> List[HealthWarning]:
    """Runs every check; returns the warnings that fired, in a stable order."""
    found = [entropy_collapse(entropies), op_dominance(op_counts or {}),
             passthrough_dominance(op_counts or {}), skip_dominance(skip_rate),
             rewards_flat(rewards, min_samples=reward_min_samples),
             child_at_chance(train_metric, chance, higher_is_better)]
    return [w for w in found if w is not None]
