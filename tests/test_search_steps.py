"""`SearchSteps`' own controller path (`controller_sample` / `controller_apply`, compiled, as the
search runs it): one sample and one update against hand-computed REINFORCE and Adam values, and a
planted reward (the share of one op) that REINFORCE must raise to the limit the tanh constant
leaves it."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from planted_search import ShareChild, ShareTask
from enas_tf2.configs.base import ControllerConfig, OptimizerConfig
from enas_tf2.controller import reinforce
from enas_tf2.controller.gradient_accumulator import GradientAccumulator
from enas_tf2.search_space.micro.controller import MicroController
from enas_tf2.training.search_steps import CONTROLLER_STREAM, SearchSteps, seed_for

AVG_POOL = 2   # the planted op: not one of the two separable convolutions (ops 0 and 1)


def _steps(cfg: ControllerConfig, op_tanh_reduce: float, baseline: float = 0.0):
    ctrl = MicroController(num_cells=2, config=cfg, op_tanh_reduce=op_tanh_reduce)
    ctrl.build()
    optimizer = reinforce.make_optimizer(cfg)
    optimizer.build(ctrl.trainable_variables)
    steps = SearchSteps(tf.distribute.get_strategy(), ShareTask(), ShareChild(AVG_POOL), ctrl,
                        keras.optimizers.SGD(), optimizer,
                        GradientAccumulator(ctrl.trainable_variables), tf.Variable(baseline),
                        tf.Variable(0, dtype=tf.int64), cfg, OptimizerConfig(), run_seed=0)
    batches = iter(tf.data.Dataset.from_tensors(tf.zeros([1, 2, 2, 3])).repeat())
    return ctrl, steps, batches


def test_one_sample_and_one_update_match_hand_computed_reinforce_and_adam():
    keras.utils.set_random_seed(3)
    cfg = ControllerConfig(lstm_size=8, tanh_constant=1.5, entropy_weight=0.01, bl_dec=0.9,
                           lr=0.02, num_aggregate=2)
    ctrl, steps, batches = _steps(cfg, op_tanh_reduce=2.5, baseline=0.3)
    before = [v.numpy() for v in ctrl.trainable_variables]
    baseline, expected_sum = 0.3, [np.zeros_like(w) for w in before]
    for sample in range(2):
        out = steps.controller_sample(batches, seed_for(CONTROLLER_STREAM, 0, sample))
        arch = out["arch"].numpy()
        share = np.mean(arch[..., [1, 3]] == AVG_POOL)          # the planted reward, by hand
        with tf.GradientTape() as tape:
            scored = ctrl(arch=arch)                            # the policy's scoring path
        grads = tape.gradient(scored.log_prob, ctrl.trainable_variables)
        reward = share + 0.01 * float(scored.entropy)
        baseline = baseline - 0.1 * (baseline - reward)          # b <- b - (1 - bl_dec)(b - R)
        assert float(out["score"]) == pytest.approx(share, abs=1e-7)
        assert float(out["reward"]) == pytest.approx(reward, abs=1e-5)
        assert float(out["baseline"]) == pytest.approx(baseline, abs=1e-5)
        assert float(steps.baseline.numpy()) == pytest.approx(baseline, abs=1e-5)
        assert float(out["log_prob"]) == pytest.approx(float(scored.log_prob), abs=1e-4)
        for total, g in zip(expected_sum, grads):                # d(-log p (R - b)) / d theta
            total -= (reward - baseline) * (np.zeros_like(total) if g is None
                                            else tf.convert_to_tensor(g).numpy())
    assert float(steps.accumulator.count) == 2.0
    mean = [total / 2 for total in expected_sum]
    norm = float(steps.controller_apply())
    assert norm == pytest.approx(math.sqrt(sum(float(np.sum(g ** 2)) for g in mean)), rel=1e-4)
    assert float(steps.accumulator.count) == 0.0 and int(steps.controller_optimizer.iterations) == 1
    # Adam, first step, beta_1 = 0: w -= lr sqrt(1 - beta_2) g / (sqrt((1 - beta_2) g^2) + eps).
    for w0, g, w1 in zip(before, mean, ctrl.trainable_variables):
        step = 0.02 * math.sqrt(1 - 0.999) * g / (np.sqrt((1 - 0.999) * g ** 2) + 1e-3)
        np.testing.assert_allclose(w1.numpy(), w0 - step, atol=2e-6)


def _expected_share(ctrl, steps, first_seed: int, num: int = 200) -> float:
    shares = [float(np.mean(steps.sample(seed_for(CONTROLLER_STREAM, 1, first_seed + i))
                            .arch.numpy()[..., [1, 3]] == AVG_POOL)) for i in range(num)]
    return float(np.mean(shares))


def test_planted_reward_drives_the_op_share_to_the_tanh_limit():
    """Reward = share of avg_pool among the op tokens. Op logits are c * tanh(.) with c = 2.5;
    the learned op bias starts at [10, 10, 0, 0, 0], where tanh is saturated (derivative 8e-9),
    so the two separable convolutions stay at +c for good and the planted op can at most tie
    them: per decision p <= e^c / (3 e^c + 2 e^-c) in the reduction cell and, with the normal
    cell's fixed +-0.25 bias, e^(c-.25) / (2 e^(c+.25) + e^(c-.25) + 2 e^(-c-.25))."""
    keras.utils.set_random_seed(0)
    c = 2.5
    bound = 0.5 * (math.exp(c) / (3 * math.exp(c) + 2 * math.exp(-c))
                   + math.exp(c - .25) / (2 * math.exp(c + .25) + math.exp(c - .25)
                                          + 2 * math.exp(-c - .25)))
    assert bound == pytest.approx(0.2819, abs=1e-4)
    cfg = ControllerConfig(lstm_size=16, tanh_constant=c, entropy_weight=0.0, lr=0.01,
                           num_aggregate=2)
    ctrl, steps, batches = _steps(cfg, op_tanh_reduce=1.0)
    start = _expected_share(ctrl, steps, 10_000)
    sample = 0
    for _ in range(300):
        for _ in range(cfg.num_aggregate):
            steps.controller_sample(batches, seed_for(CONTROLLER_STREAM, 0, sample))
            sample += 1
        steps.controller_apply()
    end = _expected_share(ctrl, steps, 20_000)
    sigma = math.sqrt(bound * (1 - bound) / (200 * 8))          # 8 op tokens per arch
    assert start < 0.1                                           # ~0.03 at the initial bias
    assert 0.85 * bound < end < bound + 4 * sigma, (start, end, bound)
    np.testing.assert_allclose(ctrl.b_soft.numpy()[0, :2], [10.0, 10.0])   # pinned


# ---- macro: the skip penalty is part of the loss the compiled step differentiates ------------

class SkipRateChild(keras.Model):
    """No weights: "predicts" the share of skip bits that are on in a macro arch ``[L, L]``."""

    def __init__(self, num_layers: int, **kwargs):
        super().__init__(**kwargs)
        self.possible = num_layers * (num_layers - 1) // 2

    def call(self, images, arch, training=False):
        on = tf.reduce_sum(tf.cast(arch[:, 1:], tf.float32))
        return on / self.possible + 0.0 * tf.reduce_sum(images)


def test_macro_controller_step_loss_and_gradient_include_the_skip_penalty():
    """`SearchSteps.controller_sample` (compiled, as the search loop calls it) on the macro
    controller built by `MacroSpace` from a `MacroConfig`: its loss and the gradient it
    accumulates must be those of ``-log p (R - b) + skip_weight * KL`` (docs/enas_reference.md
    §2.2, §2.5), with log p, the entropy and KL from the NumPy replay (macro_replay.py) and the
    gradient checked by central finite differences of that float64 replay along random
    directions. Dropping the penalty from the compiled loss changes both by far more than the
    tolerances (asserted below)."""
    from macro_replay import WEIGHT_NAMES, replay, weights_of
    from enas_tf2.search_space.macro.config import MacroConfig
    from enas_tf2.search_space.macro.space import MacroSpace

    keras.utils.set_random_seed(5)
    layers, target, weight, ew, bl_dec, b0 = 4, 0.4, 0.8, 0.01, 0.9, 0.3
    cfg = ControllerConfig(lstm_size=8, init_range=0.6, temperature=2.0, tanh_constant=1.5,
                           entropy_weight=ew, bl_dec=bl_dec, num_aggregate=1)
    ctrl = MacroSpace(MacroConfig(num_layers=layers, out_filters=4, skip_target=target,
                                  skip_weight=weight)).build_controller(cfg)
    assert (ctrl.skip_target, ctrl.skip_weight) == (target, weight)
    optimizer = reinforce.make_optimizer(cfg)
    optimizer.build(ctrl.trainable_variables)
    steps = SearchSteps(tf.distribute.get_strategy(), ShareTask(), SkipRateChild(layers), ctrl,
                        keras.optimizers.SGD(), optimizer,
                        GradientAccumulator(ctrl.trainable_variables), tf.Variable(b0),
                        tf.Variable(0, dtype=tf.int64), cfg, OptimizerConfig(), run_seed=0)
    batches = iter(tf.data.Dataset.from_tensors(tf.zeros([1, 2, 2, 3])).repeat())
    w = weights_of(ctrl)
    assert sorted(w) == sorted(WEIGHT_NAMES)

    out = steps.controller_sample(batches, seed_for(CONTROLLER_STREAM, 0, 0))
    arch = out["arch"].numpy()
    rows = [(int(arch[i, 0]), *[int(b) for b in arch[i, 1:i + 1]]) for i in range(layers)]
    log_prob, entropy, kl = replay(w, rows, cfg, target)
    score = sum(sum(r[1:]) for r in rows) / (layers * (layers - 1) / 2)
    reward = score + ew * entropy
    baseline = b0 - (1 - bl_dec) * (b0 - reward)
    advantage = reward - baseline
    expected_loss = -log_prob * advantage + weight * kl
    assert float(out["score"]) == pytest.approx(score, abs=1e-7)
    assert float(out["reward"]) == pytest.approx(reward, abs=1e-5)
    assert float(out["baseline"]) == pytest.approx(baseline, abs=1e-5)
    assert float(out["log_prob"]) == pytest.approx(log_prob, abs=1e-4)
    assert weight * kl > 0.05                       # the penalty is far from negligible here
    assert float(out["loss"]) == pytest.approx(expected_loss, abs=1e-4)

    # The accumulated gradient (what controller_apply averages and applies) against central
    # differences of the float64 loss, element by element, the sampled arch and the advantage
    # held fixed.
    def numeric_gradient(fn):
        grads, eps = {}, 1e-6
        for name, value in w.items():
            grad = np.zeros_like(value)
            for index in np.ndindex(value.shape):
                plus, minus = dict(w), dict(w)
                plus[name], minus[name] = value.copy(), value.copy()
                plus[name][index] += eps
                minus[name][index] -= eps
                grad[index] = (fn(plus) - fn(minus)) / (2 * eps)
            grads[name] = grad
        return grads

    expected = numeric_gradient(lambda ws: -replay(ws, rows, cfg, target)[0] * advantage
                                + weight * replay(ws, rows, cfg, target)[2])
    penalty = numeric_gradient(lambda ws: weight * replay(ws, rows, cfg, target)[2])
    assert float(steps.accumulator.count) == 1.0
    got = {v.path.split("/")[-1]: g.numpy()
           for v, g in zip(ctrl.trainable_variables, steps.accumulator.mean())}
    flat = lambda grads: np.concatenate([grads[k].ravel() for k in WEIGHT_NAMES])  # noqa: E731
    error = np.linalg.norm(flat(got) - flat(expected))
    assert error < 1e-4 * np.linalg.norm(flat(expected)), error
    # Without the penalty the step's gradient would be off by the penalty's own gradient.
    assert np.linalg.norm(flat(penalty)) > 100 * 1e-4 * np.linalg.norm(flat(expected))
