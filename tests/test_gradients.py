"""`--child_grad_clip` modes (training/gradients.py) against hand-computed values, and the
search's `clip_rate` in each mode."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from planted_search import replace, tiny_config, tiny_loop
from enas_tf2.errors import EnasError
from enas_tf2.training.gradients import check_clip_mode, clip_and_apply, clip_gradients

# Two tensors with norms 5 ([3, 4]) and 12 ([12]): global norm 13.
GRADS = [tf.constant([3.0, 4.0]), tf.constant([12.0])]


def _values(grads):
    return [g.numpy().tolist() for g in grads]


def test_global_mode_scales_everything_by_bound_over_global_norm():
    clipped, norm, binds = clip_gradients(GRADS, "global", 6.5)
    assert float(norm) == pytest.approx(13.0)
    np.testing.assert_allclose(np.concatenate(_values(clipped)), [1.5, 2.0, 6.0], rtol=1e-6)
    assert float(binds) == 1.0
    clipped, _, binds = clip_gradients(GRADS, "global", 13.5)
    np.testing.assert_allclose(np.concatenate(_values(clipped)), [3.0, 4.0, 12.0], rtol=1e-6)
    assert float(binds) == 0.0


def test_per_tensor_mode_clips_each_tensor_by_its_own_norm():
    clipped, norm, binds = clip_gradients(GRADS, "per_tensor", 6.0)
    assert float(norm) == pytest.approx(13.0)              # the logged norm is still global
    np.testing.assert_allclose(clipped[0].numpy(), [3.0, 4.0], rtol=1e-6)   # 5 <= 6: kept
    np.testing.assert_allclose(clipped[1].numpy(), [6.0], rtol=1e-6)        # 12 -> 6
    assert float(binds) == 1.0
    _, _, binds = clip_gradients(GRADS, "per_tensor", 12.5)  # global norm 13 > 12.5, no tensor
    assert float(binds) == 0.0


def test_none_mode_and_zero_bound_leave_gradients_alone():
    for mode, bound in (("none", 1.0), ("global", 0.0), ("per_tensor", 0.0)):
        clipped, norm, binds = clip_gradients(GRADS, mode, bound)
        np.testing.assert_allclose(np.concatenate(_values(clipped)), [3.0, 4.0, 12.0])
        assert float(norm) == pytest.approx(13.0) and float(binds) == 0.0


def test_indexed_slices_stay_sparse_in_every_mode():
    sparse = tf.IndexedSlices(tf.constant([[3.0, 4.0]]), tf.constant([1]), tf.constant([3, 2]))
    for mode, factor in (("per_tensor", 0.5), ("global", 2.5 / 13.0), ("none", 1.0)):
        clipped, norm, _ = clip_gradients([sparse, tf.constant([12.0])], mode, 2.5)
        assert isinstance(clipped[0], tf.IndexedSlices), mode
        np.testing.assert_allclose(clipped[0].values.numpy(), [[3.0 * factor, 4.0 * factor]],
                                   rtol=1e-6)
        np.testing.assert_array_equal(clipped[0].indices.numpy(), [1])
        assert float(norm) == pytest.approx(13.0)


def test_clip_and_apply_scales_after_clipping_and_applies():
    variables = [tf.Variable([0.0, 0.0]), tf.Variable([0.0])]
    norm, binds = clip_and_apply(keras.optimizers.SGD(learning_rate=1.0), GRADS, variables,
                                 "per_tensor", 6.0, scale=tf.constant(2.0))
    # SGD with lr 1: w = -2 * clipped gradient.
    np.testing.assert_allclose(variables[0].numpy(), [-6.0, -8.0], rtol=1e-6)
    np.testing.assert_allclose(variables[1].numpy(), [-12.0], rtol=1e-6)
    assert float(norm) == pytest.approx(13.0) and float(binds) == 1.0


def test_unknown_mode_is_one_clear_error():
    assert check_clip_mode("per_tensor") == "per_tensor"
    with pytest.raises(EnasError, match="--child_grad_clip='norm'"):
        check_clip_mode("norm")


@pytest.mark.parametrize("mode,bound,rate", [("none", 1e-6, 0.0), ("per_tensor", 1e-6, 1.0),
                                             ("global", 1e-6, 1.0), ("global", 1e6, 0.0)])
def test_search_clip_rate_counts_the_steps_the_clip_changed(tmp_path, mode, bound, rate):
    out = str(tmp_path / "run")
    cfg = replace(tiny_config(out, num_epochs=1, search_strategy="random"), "optim",
                  grad_clip=mode, grad_bound=bound)
    tiny_loop(cfg).run()
    with open(os.path.join(out, "progress.jsonl")) as f:
        (row,) = [json.loads(line) for line in f]
    assert row["clip_rate"] == rate
