"""Every weight of the controller, the weight-shared child and the fixed net reaches a checkpoint
and comes back on restore (Keras 3 lists are invisible to tf.train.Checkpoint by default)."""

import numpy as np
import pytest
import tensorflow as tf

from enas_tf2.configs.base import ControllerConfig
from enas_tf2.search_space.micro.arch import MicroArch
from enas_tf2.search_space.micro.config import MicroConfig
from enas_tf2.search_space.micro.space import MicroSpace
from enas_tf2.data.specs import ImageSpec

SPACE = MicroSpace(MicroConfig(num_layers=2, num_cells=2, out_filters=4, use_aux_heads=True,
                               drop_path_keep_prob=0.6))
IMAGES = ImageSpec(32, 32, 10)


def _controller():
    return SPACE.build_controller(ControllerConfig(lstm_num_layers=2))


def _child():
    return SPACE.build_child(IMAGES)


def _net():
    return SPACE.build_fixed(MicroArch.random(2, seed=3), IMAGES, total_steps=10)


@pytest.mark.parametrize("make", [_controller, _child, _net], ids=["controller", "child", "net"])
def test_checkpoint_holds_and_restores_every_weight(make, tmp_path):
    source, target = make(), make()
    path = tf.train.Checkpoint(model=source).save(str(tmp_path / "ckpt"))
    saved = [name for name, _ in tf.train.list_variables(path) if name.startswith("model/")]
    assert len(saved) == len(source.weights)
    rng = np.random.default_rng(0)
    for weight in source.weights:
        weight.assign(rng.normal(size=weight.shape).astype(weight.dtype))
    path = tf.train.Checkpoint(model=source).save(str(tmp_path / "ckpt2"))
    tf.train.Checkpoint(model=target).restore(path).assert_existing_objects_matched()
    for a, b in zip(source.weights, target.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
