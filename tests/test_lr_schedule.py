"""Child LR schedules: docs/enas_reference.md §11 check 3 (SGDR restarts) and the staircase decay."""

import math

import keras
import numpy as np
import pytest

from enas_tf2.configs.base import OptimizerConfig
from enas_tf2.errors import EnasError
from enas_tf2.optim.lr_schedule import EpochCosineRestarts, make_child_lr_schedule

LR_MAX, LR_MIN, SPE = 0.05, 1e-4, 7
DELTA = LR_MAX - LR_MIN


def _cosine(t_cur, t_i):
    """The §4.2 formula written out by hand (π as the original's 3.1415926)."""
    return LR_MIN + 0.5 * DELTA * (1.0 + math.cos(3.1415926 * t_cur / t_i))


@pytest.fixture(scope="module")
def sgdr():
    return make_child_lr_schedule(
        OptimizerConfig(lr_cosine=True, lr_max=LR_MAX, lr_min=LR_MIN, lr_T_0=10, lr_T_mul=2),
        steps_per_epoch=SPE)


# (epoch, T_cur, T_i) with restarts at 10, 30, 70, 150, 310, 630 (T_0=10, T_mul=2).
CHECK_3 = [
    (0, 0, 10), (9, 9, 10), (10, 0, 20), (20, 10, 20), (29, 19, 20), (30, 0, 40), (69, 39, 40),
    (70, 0, 80), (149, 79, 80), (150, 0, 160), (309, 159, 160), (310, 0, 320), (629, 319, 320),
    (630, 0, 640),
]


@pytest.mark.parametrize("epoch,t_cur,t_i", CHECK_3)
def test_sgdr_matches_spec_check_3(sgdr, epoch, t_cur, t_i):
    expected = _cosine(t_cur, t_i)
    # Constant within the epoch: its first and last step give the same rate.
    for step in (epoch * SPE, epoch * SPE + SPE - 1):
        assert float(sgdr(step)) == pytest.approx(expected, rel=1e-5, abs=1e-8)


def test_sgdr_named_values(sgdr):
    assert float(sgdr(0)) == pytest.approx(LR_MAX, rel=1e-6)
    assert float(sgdr(9 * SPE)) == pytest.approx(LR_MIN + 0.5 * DELTA * (1 + math.cos(0.9 * math.pi)),
                                                 rel=1e-5)
    for restart in (10, 30, 70, 150, 310, 630):
        assert float(sgdr(restart * SPE)) == pytest.approx(LR_MAX, rel=1e-6)
    # Middle of the second cycle (T_cur = 10 of 20): cos(π/2) = 0, i.e. halfway between min and max.
    assert float(sgdr(20 * SPE)) == pytest.approx((LR_MAX + LR_MIN) / 2, rel=1e-5)
    for near_end in (29, 149, 309):
        assert float(sgdr(near_end * SPE)) < LR_MIN + 0.01 * DELTA


def test_sgdr_drives_a_keras_optimizer(sgdr):
    var = keras.Variable(1.0)
    opt = keras.optimizers.SGD(learning_rate=sgdr)
    rates = []
    for _ in range(2 * SPE + 1):
        rates.append(float(opt.learning_rate))
        opt.apply_gradients([(keras.ops.ones(()), var)])
    assert rates[:SPE] == [pytest.approx(LR_MAX, rel=1e-6)] * SPE
    assert rates[SPE] == pytest.approx(_cosine(1, 10), rel=1e-5)
    assert rates[2 * SPE] == pytest.approx(_cosine(2, 10), rel=1e-5)


def test_sgdr_config_round_trip(sgdr):
    restored = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(sgdr))
    assert isinstance(restored, EpochCosineRestarts)
    assert restored.get_config() == {"lr_max": LR_MAX, "lr_min": LR_MIN, "T_0": 10, "T_mul": 2,
                                     "steps_per_epoch": SPE}
    steps = np.array([0, 70, 150 * SPE + 3, 400 * SPE])
    np.testing.assert_allclose([float(restored(s)) for s in steps],
                               [float(sgdr(s)) for s in steps])


def test_constant_cycle_length_with_t_mul_1():
    sched = EpochCosineRestarts(LR_MAX, LR_MIN, T_0=4, T_mul=1, steps_per_epoch=1)
    assert [float(sched(e)) for e in (0, 3, 4, 8, 11)] == [
        pytest.approx(v, rel=1e-5)
        for v in (LR_MAX, _cosine(3, 4), LR_MAX, LR_MAX, _cosine(3, 4))]


def test_staircase_decay():
    cfg = OptimizerConfig(lr_cosine=False, lr=0.1, lr_dec_every=3, lr_dec_rate=0.5)
    sched = make_child_lr_schedule(cfg, steps_per_epoch=4)   # decays every 12 steps
    got = [float(sched(s)) for s in (0, 11, 12, 23, 24, 36)]
    np.testing.assert_allclose(got, [0.1, 0.1, 0.05, 0.05, 0.025, 0.0125], rtol=1e-6)


@pytest.mark.parametrize("kwargs,needle", [
    (dict(lr_max=0.0, lr_min=0.0, T_0=10, T_mul=2, steps_per_epoch=5), "lr_max"),
    (dict(lr_max=0.05, lr_min=0.1, T_0=10, T_mul=2, steps_per_epoch=5), "lr_min"),
    (dict(lr_max=0.05, lr_min=0.0, T_0=0, T_mul=2, steps_per_epoch=5), "T_0"),
    (dict(lr_max=0.05, lr_min=0.0, T_0=10, T_mul=2, steps_per_epoch=0), "steps_per_epoch"),
])
def test_bad_cosine_arguments(kwargs, needle):
    with pytest.raises(EnasError, match=needle):
        EpochCosineRestarts(**kwargs)


def test_bad_staircase_arguments():
    with pytest.raises(EnasError, match="lr_dec_every"):
        make_child_lr_schedule(OptimizerConfig(lr_cosine=False, lr_dec_every=0), 10)
    with pytest.raises(EnasError, match="steps_per_epoch"):
        make_child_lr_schedule(OptimizerConfig(), 0)
