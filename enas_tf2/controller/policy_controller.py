"""`PolicyController`: the space-independent half of every ENAS controller (docs/enas_reference.md §2.1).

It owns what all controllers share: the bias-free LSTM, the anchor attention, the learned start
input ``g_emb``, the float32 policy, the ``seed=`` (sample) / ``arch=`` (score) calling
convention and Keras (de)serialisation. A search space subclasses it, creates its own decision
weights in `build_decision_weights` and walks its decision sequence in `run_policy`.
"""

from __future__ import annotations

import dataclasses

import keras
import tensorflow as tf

from enas_tf2.configs.base import ControllerConfig
from enas_tf2.controller.attention import AnchorAttention
from enas_tf2.controller.lstm_cell import StackedLSTM
from enas_tf2.controller.policy_output import PolicyOutput
from enas_tf2.controller.rollout import Rollout
from enas_tf2.errors import EnasError


def seed_tensor(seed) -> tf.Tensor:
    """A stateless-RNG seed of shape [2] (int32/int64) from a tensor, a pair or one integer."""
    seed = tf.convert_to_tensor(seed)
    if seed.dtype not in (tf.int32, tf.int64):
        seed = tf.cast(seed, tf.int64)
    if seed.shape.rank == 0:
        seed = tf.stack([seed, tf.zeros_like(seed)])
    if not seed.shape.is_compatible_with([2]):
        raise EnasError(f"a controller seed must be an integer or a pair of integers, "
                        f"got shape {seed.shape}")
    return seed


class PolicyController(keras.Model):
    """Base class of the LSTM policies: ``controller(seed=s)`` samples, ``controller(arch=a)``
    scores; both return a `PolicyOutput`.

    Subclasses set `entropy_mode` ("full" or "sampled"), implement `arch_shape`,
    `build_decision_weights` and `run_policy(rollout, arch)`, and may override `arch_to_tensor`.

    Works eagerly, inside `tf.function` (one trace for every seed: the seed is a tensor) and in
    either context of a `tf.distribute` strategy; the same seed gives the same architecture
    everywhere because sampling is stateless.

    Args:
      config: LSTM size/layers, init range, temperature, tanh constant, op_tanh_reduce.
      **kwargs: Keras Model arguments (name, ...). The dtype defaults to float32 even under a
        mixed-precision global policy: log-probabilities of 40+ decisions need full precision.
    """

    entropy_mode = "full"

    def __init__(self, config: ControllerConfig, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.controller_config = config
        self.lstm_size = int(config.lstm_size)
        self.lstm = StackedLSTM(config.lstm_size, config.lstm_num_layers, config.init_range,
                                dtype=self.dtype_policy, name="lstm")
        self.attention = AnchorAttention(config.lstm_size, config.init_range,
                                         dtype=self.dtype_policy, name="attention")

    # ---- weights -----------------------------------------------------------------------------
    def uniform_initializer(self):
        """The original's initialiser for every controller weight: uniform(±init_range)."""
        r = self.controller_config.init_range
        return keras.initializers.RandomUniform(-r, r)

    def build(self, input_shape=None):
        """Creates all weights; callable without arguments (e.g. under ``strategy.scope()``)."""
        self.lstm.build()
        self.attention.build()
        self.g_emb = self.add_weight(name="g_emb", shape=(1, self.lstm_size),
                                     initializer=self.uniform_initializer())
        self.build_decision_weights()

    def build_decision_weights(self):
        """Creates the space's own weights (embeddings, softmax); called by `build`."""
        raise NotImplementedError

    def get_build_config(self):
        """Empty: no weight depends on an input shape, so `build_from_config` just builds."""
        return {}

    def build_from_config(self, config):
        """Re-creates the weights when Keras deserialises the model."""
        self.build()

    # ---- calling -----------------------------------------------------------------------------
    @property
    def arch_shape(self):
        """Static shape of the architecture tensor this policy emits and scores."""
        raise NotImplementedError

    def arch_to_tensor(self, arch) -> tf.Tensor:
        """The int32 architecture tensor to score; EnasError when its shape does not fit."""
        arch = tf.convert_to_tensor(arch)
        if not arch.dtype.is_integer:
            raise EnasError(f"an architecture tensor must hold integers, got {arch.dtype.name}")
        if not arch.shape.is_compatible_with(self.arch_shape):
            raise EnasError(f"{self.name} scores architectures of shape {list(self.arch_shape)}, "
                            f"got {arch.shape}")
        return tf.cast(arch, tf.int32)

    def call(self, seed=None, arch=None) -> PolicyOutput:
        """Samples an architecture from `seed` ([2] int tensor) or scores the given `arch`."""
        if (seed is None) == (arch is None):
            raise EnasError("call the controller with exactly one of seed= (to sample an "
                            "architecture) or arch= (to score one)")
        if seed is not None:
            return self.run_policy(Rollout(seed=seed_tensor(seed), entropy=self.entropy_mode),
                                   None)
        return self.run_policy(Rollout(entropy=self.entropy_mode), self.arch_to_tensor(arch))

    def run_policy(self, rollout: Rollout, arch) -> PolicyOutput:
        """Walks the decision sequence with `rollout`; `arch` is None when sampling."""
        raise NotImplementedError

    # ---- serialisation -----------------------------------------------------------------------
    def get_config(self):
        """Keras config: base fields plus the `ControllerConfig` as a dict."""
        config = super().get_config()
        config["config"] = dataclasses.asdict(self.controller_config)
        return config

    @classmethod
    def from_config(cls, config):
        """Inverse of `get_config`."""
        config = dict(config)
        config["config"] = ControllerConfig(**config["config"])
        return cls(**config)
