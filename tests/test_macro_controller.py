"""MacroController (docs/enas_reference.md §2.2): log-prob, sampled entropy, skip KL vs NumPy."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from enas_tf2.configs.base import ControllerConfig
from enas_tf2.errors import EnasError
from enas_tf2.search_space.macro.arch import MacroArch
from enas_tf2.search_space.macro.controller import MacroController
from macro_replay import replay, weights_of

# Every logit transform on; a wide init makes the policy far from uniform, so a wrong step order
# or a missing transform changes the numbers visibly.
CFG = ControllerConfig(lstm_size=8, init_range=0.6, temperature=2.0, tanh_constant=1.5)
TARGET, WEIGHT = 0.4, 0.8


def _controller(cfg=CFG, num_layers=3, seed=0):
    keras.utils.set_random_seed(seed)
    controller = MacroController(num_layers, cfg, skip_target=TARGET, skip_weight=WEIGHT)
    controller.build()
    return controller


@pytest.fixture(scope="module")
def controller():
    return _controller()


def _replay(c, rows, cfg):
    """(log-prob, sampled entropy, mean skip KL) from the NumPy replay of §2.2 (macro_replay)."""
    return replay(weights_of(c), rows, cfg, TARGET)


@pytest.mark.parametrize("tokens", ["4 1 1 5 0 1", "0 2 0 3 1 1"])
def test_scoring_equals_numpy_replay(controller, tokens):
    arch = MacroArch.from_tokens(tokens)
    out = controller(arch=arch.to_array())
    log_prob, entropy, kl = _replay(controller, [(l.op, *l.skips) for l in arch.layers], CFG)
    np.testing.assert_array_equal(out.arch.numpy(), arch.to_array())
    np.testing.assert_allclose(out.log_prob.numpy(), log_prob, rtol=1e-5)
    np.testing.assert_allclose(out.entropy.numpy(), entropy, rtol=1e-5)
    np.testing.assert_allclose(out.aux_loss.numpy(), WEIGHT * kl, rtol=1e-5)
    assert kl > 0.01      # the penalty is not trivially zero at this init


def test_flat_policy_closed_form():
    """Zero op softmax and attention vector: ops uniform over 6, every bit 50/50, and the skip
    KL per bit is sum_k 0.5 log(0.5 / t_k) (sigmoid(0) = 0.5)."""
    c = _controller(ControllerConfig(lstm_size=8), num_layers=4)
    for var in (c.w_soft, c.attention.v):
        var.assign(np.zeros(var.shape, np.float32))
    arch = MacroArch.from_tokens("3 1 0 5 1 1 0 0 1 1")
    out = c(arch=arch.to_array())
    bits = 1 + 2 + 3
    np.testing.assert_allclose(out.log_prob.numpy(), 4 * np.log(1 / 6) + bits * np.log(0.5),
                               rtol=1e-6)
    np.testing.assert_allclose(out.entropy.numpy(),
                               4 * np.log(6) / 6 + bits * 0.5 * np.log(2), rtol=1e-6)
    per_bit = 0.5 * np.log(0.5 / 0.6) + 0.5 * np.log(0.5 / 0.4)
    # Layers 1, 2, 3 have 1, 2, 3 bits; the penalty is the mean over these 3 layers.
    np.testing.assert_allclose(out.aux_loss.numpy(), WEIGHT * per_bit * (1 + 2 + 3) / 3,
                               rtol=1e-5)
    np.testing.assert_allclose(c.skip_rate(out.arch).numpy(), 4 / 6)


def test_sampled_arch_scores_to_the_same_values(controller):
    for seed in ([3, 4], [11, 0]):
        sampled = controller(seed=tf.constant(seed, tf.int64))
        arch = MacroArch.from_array(sampled.arch.numpy())       # valid layout, zero padding
        scored = controller(arch=sampled.arch)
        for a, b in zip(scored[1:], sampled[1:]):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)
        replayed = _replay(controller, [(l.op, *l.skips) for l in arch.layers], CFG)
        np.testing.assert_allclose(sampled.log_prob.numpy(), replayed[0], rtol=1e-5)


def test_flat_policy_samples_uniform_ops_and_fair_bits():
    c = _controller(ControllerConfig(lstm_size=8), num_layers=4)
    for var in (c.w_soft, c.attention.v):
        var.assign(np.zeros(var.shape, np.float32))
    sample = tf.function(lambda seed: c(seed=seed).arch)
    archs = np.stack([sample(tf.constant([s, 9], tf.int64)).numpy() for s in range(300)])
    ops_drawn = archs[:, :, 0].ravel()                       # 1200 op draws
    counts = np.bincount(ops_drawn, minlength=6)
    assert counts.min() > 150 and counts.max() < 250          # expected 200 each
    bits = np.concatenate([archs[:, i, 1:i + 1].ravel() for i in range(1, 4)])   # 1800 bits
    assert abs(bits.mean() - 0.5) < 0.05
    assert not archs[:, 0, 1:].any()                          # layer 0 has no bits


def test_one_trace_for_many_seeds_and_gradients(controller):
    sample = tf.function(lambda seed: controller(seed=seed))
    archs = [sample(tf.constant([s, 0], tf.int64)).arch.numpy() for s in range(4)]
    assert sample.experimental_get_tracing_count() == 1
    assert len({a.tobytes() for a in archs}) > 1
    with tf.GradientTape() as tape:
        out = controller(seed=[1, 2])
        loss = -out.log_prob + out.aux_loss
    variables = controller.trainable_variables
    names = sorted(v.path.split("/")[-1] for v in variables)
    assert names == ["g_emb", "layer_0_kernel", "v", "w_1", "w_2", "w_emb", "w_soft"]
    for var, grad in zip(variables, tape.gradient(loss, variables)):
        assert grad is not None, var.path
        assert np.abs(tf.convert_to_tensor(grad).numpy()).max() > 0, var.path


def test_bad_calls_and_config_round_trip(controller):
    with pytest.raises(EnasError, match=r"shape \[3, 3\]"):
        controller(arch=np.zeros((4, 4), np.int32))
    with pytest.raises(EnasError, match="num_layers"):
        MacroController(0)
    clone = MacroController.from_config(controller.get_config())
    assert (clone.num_layers, clone.skip_target, clone.skip_weight) == (3, TARGET, WEIGHT)
    clone.build()
    clone.set_weights(controller.get_weights())
    np.testing.assert_array_equal(clone(seed=[4, 4]).arch, controller(seed=[4, 4]).arch)
