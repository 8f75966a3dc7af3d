"""REINFORCE maths (docs/enas_reference.md §2.5, pitfall P7) against hand-computed values."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from enas_tf2.configs.base import ControllerConfig
from enas_tf2.controller import reinforce
from enas_tf2.controller.decisions import (categorical_entropy, decision_log_prob,
                                           sample_decision, sampled_entropy, shape_logits)
from enas_tf2.controller.gradient_accumulator import GradientAccumulator
from enas_tf2.search_space.micro import MicroArch, MicroController


def test_reward_adds_the_weighted_entropy_without_gradient():
    # 0.6 + 1e-4 * 40 = 0.604
    assert float(reinforce.reward(0.6, 40.0, 1e-4)) == pytest.approx(0.604, abs=1e-7)
    assert float(reinforce.reward(0.6, 40.0, None)) == pytest.approx(0.6, abs=1e-7)
    assert float(reinforce.reward(0.6, 40.0, 0.0)) == pytest.approx(0.6, abs=1e-7)
    entropy = tf.Variable(40.0)
    with tf.GradientTape() as tape:
        value = reinforce.reward(0.6, entropy, 1e-4)
    assert tape.gradient(value, entropy) is None


def test_baseline_moves_towards_the_reward():
    # b = 0 - 0.01 * (0 - 0.6) = 0.006; then 0.5 - 0.01 * (0.5 - 0.7) = 0.502
    assert reinforce.update_baseline(0.0, 0.6, 0.99) == pytest.approx(0.006)
    assert reinforce.update_baseline(0.5, 0.7, 0.99) == pytest.approx(0.502)
    baseline = tf.Variable(0.5)
    assert float(reinforce.update_baseline(baseline, tf.constant(0.7), 0.99)) == pytest.approx(
        0.502, abs=1e-7)


def test_loss_is_minus_log_prob_times_advantage():
    # -(-50) * (0.7 - 0.502) = 9.9; d loss / d log_prob = -(R - b) = -0.198
    log_prob = tf.Variable(-50.0)
    reward, baseline = tf.Variable(0.7), tf.Variable(0.502)
    with tf.GradientTape(persistent=True) as tape:
        loss = reinforce.reinforce_loss(log_prob, reward, baseline)
    assert float(loss) == pytest.approx(9.9, abs=1e-4)
    assert float(tape.gradient(loss, log_prob)) == pytest.approx(-0.198, abs=1e-6)
    assert tape.gradient(loss, reward) is None and tape.gradient(loss, baseline) is None


def test_decision_maths_by_hand():
    logits = np.array([1.0, 0.0, -1.0], np.float32)
    z = math.e + 1 + 1 / math.e
    p = [math.e / z, 1 / z, (1 / math.e) / z]
    assert float(decision_log_prob(logits, 1)) == pytest.approx(math.log(p[1]), abs=1e-6)
    assert float(categorical_entropy(logits)) == pytest.approx(
        -sum(q * math.log(q) for q in p), abs=1e-6)
    assert float(sampled_entropy(logits, 0)) == pytest.approx(-p[0] * math.log(p[0]), abs=1e-6)
    # temperature 2 then 1.5 * tanh
    np.testing.assert_allclose(shape_logits(logits, 2.0, 1.5),
                               [1.5 * math.tanh(0.5), 0.0, -1.5 * math.tanh(0.5)], rtol=1e-6)
    np.testing.assert_allclose(shape_logits(logits), logits)
    # Batched decisions (macro skip bits): one choice per row, log-probs per row.
    rows = tf.constant([[0.0, 50.0], [50.0, 0.0], [0.0, 50.0]])
    choice = sample_decision(rows, tf.constant([1, 2], tf.int64))
    np.testing.assert_array_equal(choice, [1, 0, 1])
    assert choice.dtype == tf.int32 and decision_log_prob(rows, choice).shape == (3,)


def test_accumulated_mean_of_three_gradients():
    variables = [tf.Variable(np.zeros((2, 2), np.float32)), tf.Variable(0.0)]
    accumulator = GradientAccumulator(variables)
    grads = [
        [tf.constant([[1.0, 2.0], [3.0, 4.0]]), tf.constant(3.0)],
        [tf.constant([[-1.0, 0.0], [6.0, 1.0]]), None],                 # None counts as zero
        [tf.IndexedSlices(tf.constant([[3.0, 1.0]]), tf.constant([1]),  # sparse (embedding)
                          tf.constant([2, 2])), tf.constant(6.0)],
    ]
    for g in grads:
        accumulator.add(g)
    assert float(accumulator.count) == 3.0
    mean = accumulator.mean()
    # (1 - 1 + 0) / 3, (2 + 0 + 0) / 3, (3 + 6 + 3) / 3, (4 + 1 + 1) / 3 ; (3 + 0 + 6) / 3
    np.testing.assert_allclose(mean[0], [[0.0, 2 / 3], [4.0, 2.0]], rtol=1e-6)
    assert float(mean[1]) == pytest.approx(3.0)
    accumulator.reset()
    assert float(accumulator.count) == 0.0
    np.testing.assert_array_equal(accumulator.mean()[0], np.zeros((2, 2)))
    with pytest.raises(ValueError, match="expected 2 gradients"):
        accumulator.add([tf.constant(1.0)])


def _tf1_adam(w, grads, lr, beta_1, beta_2, eps):
    """TF1 AdamOptimizer by hand: lr_t = lr sqrt(1 - b2^t) / (1 - b1^t); w -= lr_t m / (sqrt(v) + eps)."""
    m = v = 0.0
    for t, g in enumerate(grads, start=1):
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g * g
        lr_t = lr * math.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
        w -= lr_t * m / (math.sqrt(v) + eps)
    return w


def test_adam_with_beta1_zero_matches_hand_computed_steps():
    optimizer = reinforce.make_optimizer(ControllerConfig(lr=0.1))
    assert optimizer.beta_1 == 0.0 and optimizer.epsilon == 1e-3 and optimizer.beta_2 == 0.999
    w = tf.Variable(1.0)
    # Step 1, g = 2: v = 0.004, lr_t = 0.1 * sqrt(0.001); w = 1 - lr_t * 2 / (sqrt(0.004) + 1e-3)
    optimizer.apply([tf.constant(2.0)], [w])
    step_1 = 1.0 - 0.1 * math.sqrt(0.001) * 2.0 / (math.sqrt(0.004) + 1e-3)
    assert float(w) == pytest.approx(step_1, abs=1e-6)
    # Step 2, g = -1: beta_1 = 0 means no momentum, the step follows the new gradient only.
    optimizer.apply([tf.constant(-1.0)], [w])
    assert float(w) == pytest.approx(_tf1_adam(1.0, [2.0, -1.0], 0.1, 0.0, 0.999, 1e-3),
                                     abs=1e-6)
    assert float(w) > step_1


def test_one_update_makes_a_rewarded_arch_more_likely():
    """num_aggregate = 3 samples of the same rewarded arch, one Adam step: log p(arch) rises."""
    keras.utils.set_random_seed(1)
    cfg = ControllerConfig(lstm_size=8, tanh_constant=1.5, lr=0.01, num_aggregate=3)
    controller = MicroController(num_cells=2, config=cfg, op_tanh_reduce=2.5)
    controller.build()
    optimizer = reinforce.make_optimizer(cfg)
    accumulator = GradientAccumulator(controller.trainable_variables)
    arch = MicroArch.from_tokens("0 3 1 2  2 4 0 2   1 3 0 2  0 2 2 4")
    before = float(controller(arch=arch).log_prob)
    baseline = 0.0
    for _ in range(cfg.num_aggregate):
        with tf.GradientTape() as tape:
            out = controller(arch=arch)
            r = reinforce.reward(0.8, out.entropy, 1e-4)
            baseline = reinforce.update_baseline(baseline, r, cfg.bl_dec)
            loss = reinforce.reinforce_loss(out.log_prob, r, baseline)
        accumulator.add(tape.gradient(loss, controller.trainable_variables))
    optimizer.apply(accumulator.mean(), controller.trainable_variables)
    assert int(optimizer.iterations) == 1
    assert float(controller(arch=arch).log_prob) > before + 1e-3
