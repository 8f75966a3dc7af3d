"""Space-independent controller machinery (docs/enas_reference.md §2.1, §2.5).

- `lstm_cell.StackedLSTM`, `attention.AnchorAttention`: the policy's layers.
- `decisions`: logit shaping, stateless sampling, log-prob and the two entropy variants.
- `rollout.Rollout`: samples or replays a decision sequence, summing log-probs and entropies.
- `policy_controller.PolicyController`: base Keras model (``seed=`` samples, ``arch=`` scores);
  each search space subclasses it with its own decision sequence.
- `policy_output.PolicyOutput`: what every controller returns.
- `reinforce` and `gradient_accumulator.GradientAccumulator`: reward, baseline, loss, optimiser.
"""

from enas_tf2.controller.attention import AnchorAttention
from enas_tf2.controller.gradient_accumulator import GradientAccumulator
from enas_tf2.controller.lstm_cell import StackedLSTM
from enas_tf2.controller.policy_controller import PolicyController
from enas_tf2.controller.policy_output import PolicyOutput
from enas_tf2.controller.rollout import Rollout

__all__ = ["AnchorAttention", "GradientAccumulator", "PolicyController", "PolicyOutput",
           "Rollout", "StackedLSTM"]
