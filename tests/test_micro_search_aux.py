"""`--child_use_aux_heads` in a micro search: the weight-shared child grows the final net's
auxiliary head, training calls return (logits, aux_logits), the image task adds 0.4 x its
cross-entropy, and the head's weights are trained (they receive gradients)."""

import numpy as np
import pytest
import tensorflow as tf

from enas_tf2.configs.base import DataConfig, OptimizerConfig
from enas_tf2.errors import EnasError
from enas_tf2.search_space.micro.arch import MicroArch
from enas_tf2.search_space.micro.config import MicroConfig
from enas_tf2.search_space.micro.space import MicroSpace
from enas_tf2.data.specs import ImageSpec
from enas_tf2.tasks.image_classification import ImageClassificationTask


def _ce(logits, labels):
    logits = logits - logits.max(-1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    return -log_p[np.arange(len(labels)), labels].mean()


def test_search_child_trains_an_aux_head_with_weight_0_4():
    space = MicroSpace(MicroConfig(num_layers=2, num_cells=2, out_filters=4, keep_prob=1.0,
                                   use_aux_heads=True))
    child = space.build_child(ImageSpec(32, 32, 10))
    # N=2: reduction cells 0 and 1, the head on cell 2 (8x8 maps, 4 * 4 = 16 channels).
    assert child.aux_head_index == 2 and child.aux_head.built
    aux_vars = child.aux_head.trainable_variables
    assert aux_vars and all(any(v is w for w in child.trainable_variables) for v in aux_vars)
    rng = np.random.default_rng(0)
    images = tf.constant(rng.normal(size=(6, 32, 32, 3)).astype(np.float32))
    labels = tf.constant(rng.integers(0, 10, 6).astype(np.int32))
    arch = tf.constant(MicroArch.random(2, seed=1).to_array())
    logits, aux_logits = child(images, arch=arch, training=True)
    assert logits.shape == aux_logits.shape == (6, 10)
    assert child(images, arch=arch, training=False).shape == (6, 10)   # no aux at eval

    optim = OptimizerConfig(l2_reg=1e-4, aux_weight=0.4)
    task = ImageClassificationTask(DataConfig(batch_size=6), optim)
    variables = child.trainable_variables
    with tf.GradientTape() as tape:
        loss, _ = task.train_loss(lambda x, **kw: child(x, arch=arch, **kw), (images, labels),
                                  variables)
    l2 = sum(float(np.sum(v.numpy() ** 2)) for v in variables)
    expected = (_ce(logits.numpy(), labels.numpy()) + 0.4 * _ce(aux_logits.numpy(),
                                                                 labels.numpy()) + 1e-4 * l2)
    assert float(loss) == pytest.approx(expected, rel=1e-5)
    grads = tape.gradient(loss, variables)
    by_var = {id(v): g for v, g in zip(variables, grads)}
    for v in aux_vars:
        g = by_var[id(v)]
        assert g is not None and float(tf.reduce_sum(tf.abs(g))) > 0, v.name


def test_aux_head_on_too_small_images_is_one_clear_error():
    space = MicroSpace(MicroConfig(num_layers=2, num_cells=2, out_filters=4, use_aux_heads=True))
    with pytest.raises(EnasError, match="too small for the auxiliary head"):
        space.build_child(ImageSpec(16, 16, 10))
