"""`ArchScorer`: scores architectures under the shared weights on fixed batches, and compares two
sets of them (the controller's samples vs uniformly random ones) on the SAME batches.

Every architecture of a comparison sees the same batches, so the per-batch difference of the two
sets' mean rewards is a paired measurement: its spread over the batches says how much of the gap
is batch noise (one batch of 100 images has a standard error of ~4-5 accuracy points; the mean
over five batches about half of that).
"""

from __future__ import annotations

from typing import Dict, List, Optional

import numpy as np
import tensorflow as tf


def _std(values) -> Optional[float]:
    """Sample standard deviation (ddof 1); None for fewer than two values."""
    return float(np.std(values, ddof=1)) if len(values) > 1 else None


class ArchScorer:
    """Scores architecture tensors with a search's compiled `score(batch, arch)` step.

    Args:
      score_step: ``score_step(batch, arch) -> {stat: tensor}`` (summed over replicas).
      task: the `Task` (turns summed statistics into its score and the controller's reward).
      objective: the run's `Objective` (the reward of a cost objective also reads the
        architecture); None keeps the task's reward.
    """

    def __init__(self, score_step, task, objective=None):
        self.score_step = score_step
        self.task = task
        self.objective = objective

    def _reward(self, totals: Dict[str, float], arch_tensor=None) -> float:
        value = float(self.task.reward({k: tf.constant(v, tf.float32)
                                        for k, v in totals.items()}))
        if self.objective is None or arch_tensor is None:
            return value
        return float(self.objective.reward_of_array(value, np.asarray(arch_tensor)))

    def score(self, arch_tensor, batches: List) -> Dict[str, object]:
        """``{"score", "reward"}`` of one architecture from statistics summed over all `batches`
        (never a mean of per-batch scores), plus ``"batch_rewards"``, its reward on each batch."""
        totals: Dict[str, float] = {}
        batch_rewards = []
        self.task.reset_state()
        for batch in batches:
            stats = {k: float(v) for k, v in self.score_step(batch, arch_tensor).items()}
            batch_rewards.append(self._reward(stats, arch_tensor))
            for key, value in stats.items():
                totals[key] = totals.get(key, 0.0) + value
        return {"score": self.task.score(totals), "reward": self._reward(totals, arch_tensor),
                "batch_rewards": batch_rewards}

    @staticmethod
    def summary(rows: List[dict], prefix: str) -> Dict[str, object]:
        """Means and spreads of a set of scored rows: ``<prefix>_mean_score``,
        ``<prefix>_mean_reward``, ``<prefix>_reward_std`` (over the architectures) and
        ``<prefix>_batch_rewards`` (the set's mean reward on each batch)."""
        if not rows:
            return {f"{prefix}_mean_score": None, f"{prefix}_mean_reward": None,
                    f"{prefix}_reward_std": None, f"{prefix}_batch_rewards": None}
        rewards = [r["reward"] for r in rows]
        per_batch = np.mean([r["batch_rewards"] for r in rows], axis=0)
        return {f"{prefix}_mean_score": float(np.mean([r["score"] for r in rows])),
                f"{prefix}_mean_reward": float(np.mean(rewards)),
                f"{prefix}_reward_std": _std(rewards),
                f"{prefix}_batch_rewards": [round(float(v), 6) for v in per_batch]}

    @staticmethod
    def paired_difference(first: List[dict], second: List[dict]) -> Dict[str, object]:
        """Per-batch (first - second) differences of the two sets' mean rewards: their mean,
        their standard deviation over the batches and its standard error (std / sqrt(batches))."""
        if not first or not second:
            return {"reward_diff_mean": None, "reward_diff_batch_std": None,
                    "reward_diff_sem": None}
        diff = (np.mean([r["batch_rewards"] for r in first], axis=0)
                - np.mean([r["batch_rewards"] for r in second], axis=0))
        std = _std(diff)
        return {"reward_diff_mean": float(np.mean(diff)), "reward_diff_batch_std": std,
                "reward_diff_sem": None if std is None else std / float(np.sqrt(len(diff)))}
