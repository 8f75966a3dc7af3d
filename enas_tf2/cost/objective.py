"""`Objective`: the controller's reward from an architecture's accuracy and its cost.

``accuracy`` (the paper's) leaves the task's reward alone. With a cost objective the reward of an
architecture of accuracy ``acc`` and cost ``c`` (parameters or multiply-adds in millions, or the
latency in ms that a `LatencyTable` predicts) under the target ``T`` is

* soft (MnasNet, Tan et al. 2019, eq. 2 with alpha = beta = w): ``acc * (c / T) ** w``, w = -0.07
  by default: 2x over the target costs 4.7 % of the reward, half of it earns 4.9 %;
* hard (MnasNet's hard-constraint setting, alpha = 0, beta = -1): ``acc`` when ``c <= T``,
  else ``acc * T / c``: no reward for being cheaper than the target, and a penalty that grows
  with the excess (an architecture at twice the target earns half), so the controller is pushed
  towards the target even before it samples a feasible architecture; derive then keeps the
  most accurate architecture WITHIN the target (the cheapest one when none is).

The loops reach it through `reward_tensor` (inside the compiled controller step: the cost is
looked up on the host with `tf.numpy_function`, cached per architecture) and `reward` (derive).
Nothing here knows a space: costs come from `SearchSpace.arch_cost` / `latency_blocks`.
"""

from __future__ import annotations

from typing import Dict, Optional

import numpy as np
import tensorflow as tf

from enas_tf2.configs.base import ObjectiveConfig

UNITS = {"params": "M params", "macs": "M MACs", "latency": "ms"}


def cost_reward(accuracy: float, cost: float, target: float, weight: float = -0.07,
                constraint: str = "soft") -> float:
    """The reward of `accuracy` at `cost` under `target` (see the module doc)."""
    if constraint == "hard":
        return float(accuracy) if cost <= target else float(accuracy) * target / cost
    return float(accuracy) * (max(cost, 1e-12) / target) ** weight


class Objective:
    """The configured objective for one space and input.

    Args:
      config: the `ObjectiveConfig`.
      space: the `SearchSpace` (its ``arch_cost``/``latency_blocks`` give the costs).
      input_spec: what the networks are built for (image size and classes).

    Raises EnasError (one line) when the space has no such cost or the latency table does not
    fit (another image size or space).
    """

    def __init__(self, config: ObjectiveConfig, space, input_spec):
        self.config, self.space, self.input_spec = config, space, input_spec
        self.active = config.kind != "accuracy"
        self.table = None
        self._costs: Dict[bytes, dict] = {}
        if config.kind == "latency":
            from enas_tf2.cost.latency_table import LatencyTable
            self.table = LatencyTable.load(
                config.latency_table, (input_spec.height, input_spec.width), space.name)
        if self.active:       # fails now, in one line, if the space has no such cost
            self.cost_of(space.random_arch(0))

    def describe(self) -> str:
        """One line for the log."""
        c = self.config
        if not self.active:
            return "objective: accuracy (the paper's reward)"
        form = (f"acc * (cost / {c.target:g}) ^ {c.weight:g}" if c.constraint == "soft"
                else f"acc if cost <= {c.target:g} else acc * {c.target:g} / cost; derive "
                     f"keeps architectures within the target")
        table = f", latency table {self.table.describe()}" if self.table else ""
        return f"objective: {c.kind} target {c.target:g} {UNITS[c.kind]} ({c.constraint}: " \
               f"{form}{table})"

    def cost_of(self, arch) -> dict:
        """``{"params", "macs", ... , "latency_ms" (with a table)}`` of `arch`, cached."""
        key = np.asarray(arch.to_array()).tobytes()
        if key not in self._costs:
            cost = self.space.arch_cost(arch, self.input_spec).to_json()
            if self.table is not None:
                cost["latency_ms"] = round(self.table.predict_ms(
                    self.space.latency_blocks(arch, self.input_spec)), 4)
            self._costs[key] = cost
        return self._costs[key]

    def cost_value(self, arch) -> float:
        """The cost the target is on, in its unit (M params, M MACs, ms)."""
        cost = self.cost_of(arch)
        return {"params": cost["params"] / 1e6, "macs": cost["macs"] / 1e6,
                "latency": cost.get("latency_ms")}[self.config.kind]

    def reward(self, accuracy: float, arch) -> float:
        """The objective's reward of an architecture scored `accuracy` (unchanged for the
        accuracy objective)."""
        if not self.active:
            return float(accuracy)
        c = self.config
        return cost_reward(accuracy, self.cost_value(arch), c.target, c.weight, c.constraint)

    def reward_of_array(self, accuracy, array) -> np.float32:
        """`reward` for the controller's int32 architecture array (host side)."""
        return np.float32(self.reward(float(accuracy), self.space.arch_from_array(array)))

    def reward_tensor(self, accuracy: tf.Tensor, arch: tf.Tensor) -> tf.Tensor:
        """`reward` inside a tf.function: `accuracy` as is for the accuracy objective, else
        the cost looked up on the host."""
        if not self.active:
            return accuracy
        value = tf.numpy_function(self.reward_of_array, [accuracy, arch], tf.float32,
                                  stateful=False)
        return tf.reshape(value, [])

    def rank_key(self, row: dict):
        """Derive's sort key of a scored row (``"reward"``, ``"arch"``): the reward, ties
        broken by the lower cost; with the hard constraint an architecture within the target
        first (the cheapest one wins when none is)."""
        cost = self.cost_value(row["arch"])
        if self.config.constraint == "hard":
            feasible = cost <= self.config.target
            return (feasible, row["reward"] if feasible else -cost)
        return (row["reward"], -cost)


def build_objective(config: Optional[ObjectiveConfig], space, input_spec) -> Objective:
    """The `Objective` of a run (accuracy when `config` is None)."""
    return Objective(config or ObjectiveConfig(), space, input_spec)

