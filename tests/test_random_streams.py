"""Every random draw a model makes in training comes back after a checkpoint restore (issue 13,
exact resume): classifier-head dropout, drop path, the RNN dropout masks.

The draws are stateless (`enas_tf2.layers.stream_seed`), keyed by a construction-time seed, a
saved int64 counter, the replica and a per-call-site salt. Checked here: the same counter gives
the same masks and the next training call new ones; a layer or model restored from a checkpoint
taken after k training calls draws bit-for-bit what the original draws at call k + 1; inference
draws nothing; the keep probabilities are unchanged; and the two replicas of a MirroredStrategy
step draw different masks (fresh process: logical devices must be set before TF initialises).
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from enas_tf2.layers.classifier_head import ClassifierHead
from enas_tf2.layers.drop_path import DropPath
from enas_tf2.layers.stream_seed import stream_seed
from enas_tf2.search_space.micro.arch import MicroArch
from enas_tf2.search_space.micro.net import MicroNet
from enas_tf2.search_space.rnn.arch import RnnArch
from enas_tf2.search_space.rnn.child import RnnChild
from enas_tf2.search_space.rnn.config import RnnConfig
from enas_tf2.search_space.rnn.net import RnnLM

fold_in = tf.random.experimental.stateless_fold_in


def _restore_into(fresh, original, tmp_path):
    """Saves `original` with `tf.train.Checkpoint` and restores it into `fresh` (both built)."""
    path = tf.train.Checkpoint(model=original).write(str(tmp_path / "ckpt"))
    tf.train.Checkpoint(model=fresh).read(path).assert_existing_objects_matched()


# ---- the seed helper ---------------------------------------------------------------------------
def test_stream_seed_is_the_documented_fold_in_chain():
    # Outside a strategy the replica id is 0: fold_in(fold_in([seed, counter], 0), salt).
    expected = fold_in(fold_in(tf.constant([7, 3], tf.int64), tf.constant(0, tf.int64)),
                       tf.constant(5, tf.int64))
    np.testing.assert_array_equal(stream_seed(7, 3, 5), expected)
    np.testing.assert_array_equal(stream_seed(7, tf.constant(3, tf.int64), 5), expected)
    seeds = {tuple(stream_seed(*args).numpy()) for args in
             [(7, 3, 5), (7, 4, 5), (7, 3, 6), (8, 3, 5), (5, 3, 7), (3, 7, 5)]}
    assert len(seeds) == 6          # any changed component (or swapped ones) gives a new seed


# ---- classifier head ---------------------------------------------------------------------------
def _head(keep=0.5, width=64, seed=11):
    """A head whose output IS the dropped input: no ReLU, 1x1 maps, identity kernel."""
    head = ClassifierHead(width, keep, relu_first=False, seed=seed)
    head.build((None, 1, 1, width))
    head.kernel.assign(np.eye(width, dtype=np.float32))
    return head


def test_head_same_counter_same_mask_next_call_new_mask_inference_draws_nothing():
    head, x = _head(), tf.ones([8, 1, 1, 64])
    np.testing.assert_array_equal(head(x, training=False), x[:, 0, 0])
    assert int(head.dropout_step.numpy()) == 0                    # inference: no draw, no count
    first = head(x, training=True).numpy()
    assert int(head.dropout_step.numpy()) == 1
    second = head(x, training=True).numpy()
    assert not np.array_equal(first, second)
    head.dropout_step.assign(0)
    np.testing.assert_array_equal(head(x, training=True), first)
    # Inverted dropout, computed here: each unit is 0 or 1/keep.
    assert set(np.unique(first)) == {0.0, 2.0}
    # Another seed, another stream.
    other = _head(seed=12)
    assert not np.array_equal(other(x, training=True), first)


def test_head_restored_from_a_checkpoint_continues_the_stream(tmp_path):
    x = tf.ones([8, 1, 1, 64])
    original = _head()
    for _ in range(3):
        original(x, training=True)
    fresh = _head()
    _restore_into(fresh, original, tmp_path)
    assert int(fresh.dropout_step.numpy()) == 3
    np.testing.assert_array_equal(fresh(x, training=True), original(x, training=True))
    # Without the restore the fresh stream starts over (what a resume used to do).
    assert not np.array_equal(_head()(x, training=True), fresh(x, training=True))


def test_head_keep_probability():
    # 64 units x 500 rows x 4 calls = 128,000 Bernoulli(0.7) draws: sd of the kept fraction
    # sqrt(0.7 * 0.3 / 128000) = 0.0013, so 0.01 is 7.7 sd; the mean output (kept / keep) is
    # then within 0.01 / 0.7 = 0.014 of 1.
    head, x = _head(keep=0.7), tf.ones([500, 1, 1, 64])
    out = np.stack([head(x, training=True).numpy() for _ in range(4)])
    np.testing.assert_allclose(np.unique(out), [0.0, 1 / 0.7], rtol=1e-6)
    assert abs(np.mean(out > 0) - 0.7) < 0.01
    assert abs(np.mean(out) - 1.0) < 0.015


# ---- drop path ---------------------------------------------------------------------------------
def test_drop_path_mask_is_the_documented_function_of_seed_step_salt():
    layer = DropPath(0.5, cell_index=3, total_cells=4, total_steps=100, seed=21)
    x = tf.ones([64, 2, 2, 3])
    y = layer(x, step=99, training=True, salt=2).numpy()
    # kp = 0.5 at the last step of the last cell; mask = floor(kp + u), u drawn from the seed of
    # (21, step 99, replica 0, salt 2): an example is kept iff u >= 1 - kp, then scaled by 1/kp.
    u = tf.random.stateless_uniform([64, 1, 1, 1], stream_seed(21, 99, 2)).numpy()
    expected = np.where(u >= 0.5, 2.0, 0.0) * np.ones([64, 2, 2, 3])
    np.testing.assert_array_equal(y, expected)
    np.testing.assert_array_equal(layer(x, step=99, training=True, salt=2), y)     # same key
    assert not np.array_equal(layer(x, step=100, training=True, salt=2), y)        # next step
    assert not np.array_equal(layer(x, step=99, training=True, salt=3), y)         # other op
    assert layer(x, step=99, training=False) is x


def test_drop_path_statistics_and_independent_call_sites():
    # kp = 0.6; 20,000 examples per call site: sd of a kept fraction sqrt(0.24 / 20000) = 0.0035,
    # tolerance 0.02 (5.8 sd); two independent sites both keep an example with probability
    # kp^2 = 0.36 (sd 0.0034), whereas one shared mask would give 0.6.
    layer = DropPath(0.6, cell_index=0, total_cells=1, total_steps=1, seed=5)
    x = tf.ones([20000, 1, 1, 1])
    kept = [layer(x, step=0, training=True, salt=s).numpy().ravel() > 0 for s in (0, 1)]
    for mask in kept:
        assert abs(mask.mean() - 0.6) < 0.02
    assert abs(np.mean(kept[0] & kept[1]) - 0.36) < 0.02


# ---- micro fixed net ---------------------------------------------------------------------------
def _micro_net():
    net = MicroNet(MicroArch.random(2, seed=3), num_layers=1, num_cells=2, out_filters=4,
                   num_classes=5, keep_prob=0.5, drop_path_keep_prob=0.3, total_steps=4)
    net.build((None, 8, 8, 3))
    return net


def test_micro_net_resumes_its_dropout_and_drop_path_masks_bit_for_bit(tmp_path):
    images = tf.random.stateless_normal([4, 8, 8, 3], seed=[1, 2])
    original = _micro_net()
    train = tf.function(lambda net, x: net(x, training=True))
    for _ in range(2):
        train(original, images)
    fresh = _micro_net()
    _restore_into(fresh, original, tmp_path)
    assert int(fresh.drop_path_step.numpy()) == 2 and int(fresh.head.dropout_step.numpy()) == 2
    train_fresh = tf.function(lambda net, x: net(x, training=True))
    expected = train(original, images).numpy()
    np.testing.assert_array_equal(train_fresh(fresh, images), expected)
    assert not np.array_equal(train(original, images), expected)          # the next call differs
    # Inference: deterministic, draws nothing, counts nothing.
    np.testing.assert_array_equal(fresh(images, training=False), fresh(images, training=False))
    assert int(fresh.drop_path_step.numpy()) == 3


def test_micro_net_counts_steps_from_zero():
    """The drop-path step of the k-th training call is k - 1 (0-based, as documented): the count
    is read before it is advanced."""
    net, images = _micro_net(), tf.random.stateless_normal([4, 8, 8, 3], seed=[3, 4])
    first = net(images, training=True).numpy()
    net.head.dropout_step.assign(0)                       # the same head mask again
    np.testing.assert_array_equal(net(images, training=True, step=0), first)
    net.head.dropout_step.assign(0)
    assert not np.array_equal(net(images, training=True, step=1), first)


# ---- RNN language models -----------------------------------------------------------------------
RNN_RATES = dict(drop_e=0.2, drop_i=0.3, drop_x=0.4, drop_l=0.5, drop_o=0.6, drop_w=0.25)


def _rnn(kind):
    cfg = RnnConfig(num_nodes=3, embed_size=4, hidden_size=4, **RNN_RATES)
    model = (RnnChild(13, cfg) if kind == "child"
             else RnnLM(RnnArch.from_tokens("0 1 1 2 0 3"), 13, cfg))
    model.build()
    return model


@pytest.mark.parametrize("kind", ["child", "lm"])
def test_rnn_masks_resume_bit_for_bit(kind, tmp_path):
    tokens = tf.constant(np.random.default_rng(0).integers(0, 13, (3, 5)), tf.int32)
    original = _rnn(kind)
    extra = (tf.constant([0, 1, 1, 2, 0, 3]),) if kind == "child" else ()

    def step(model):
        return model(tokens, model.initial_state(3), *extra, training=True)[0].numpy()

    for _ in range(2):
        step(original)
    fresh = _rnn(kind)
    _restore_into(fresh, original, tmp_path)
    expected = step(original)
    np.testing.assert_array_equal(step(fresh), expected)
    assert not np.array_equal(step(original), expected)
    assert int(original.dropout_step.numpy()) == 4
    original(tokens, original.initial_state(3), *extra, training=False)
    assert int(original.dropout_step.numpy()) == 4                        # inference: no draw


def test_rnn_masks_same_counter_same_masks_and_keep_statistics():
    cfg = RnnConfig(num_nodes=2, embed_size=50, hidden_size=50, **RNN_RATES)
    model = RnnChild(400, cfg)
    model.build()
    batch = 200
    first = model.sample_masks(batch)
    second = model.sample_masks(batch)
    model.dropout_step.assign(0)
    again = model.sample_masks(batch)
    for a, b, c in zip(first, second, again):
        a, b, c = (tuple(m) if isinstance(m, tuple) else (m,) for m in (a, b, c))
        for ma, mb, mc in zip(a, b, c):
            np.testing.assert_array_equal(ma, mc)
            assert not np.array_equal(ma, mb)
    # Equal shapes and rates are still different draws (per-mask salts): embed vs inputs.
    same_rate = RnnConfig(num_nodes=1, embed_size=50, hidden_size=50, drop_i=0.5, drop_x=0.5)
    m = RnnChild(10, same_rate)
    m.build()
    masks = m.sample_masks(batch)
    assert not np.array_equal(masks.embed, masks.inputs)
    # Keep statistics over 4 calls: each mask is 0 or 1/keep, and the kept fraction is keep.
    # Fewest draws: the word mask, 4 x 400 = 1,600 Bernoulli(0.8) (sd 0.010); the tolerance
    # 0.05 is 5 sd for it and more for the others (>= 4 x 10,000 draws, sd <= 0.0025).
    draws = [first, second] + [model.sample_masks(batch) for _ in range(2)]
    for name, rate in (("word", 0.2), ("embed", 0.3), ("inputs", 0.4), ("state", 0.5),
                       ("output", 0.6), ("weights", 0.25)):
        values = np.concatenate([np.ravel(np.stack(getattr(d, name))) for d in draws])
        keep = 1 - rate
        np.testing.assert_allclose(np.unique(values), [0.0, 1 / keep], rtol=1e-6, err_msg=name)
        assert abs(np.mean(values > 0) - keep) < 0.05, name


# ---- MirroredStrategy: replicas draw different masks --------------------------------------------
MIRRORED_SCRIPT = textwrap.dedent("""
    import numpy as np
    import tensorflow as tf
    from enas_tf2.training.strategy import make_strategy
    from enas_tf2.layers.classifier_head import ClassifierHead
    from enas_tf2.layers.drop_path import DropPath
    from enas_tf2.search_space.rnn.child import RnnChild
    from enas_tf2.search_space.rnn.config import RnnConfig

    strategy = make_strategy("mirrored", num_cpu_devices=2)
    assert strategy.num_replicas_in_sync == 2
    with strategy.scope():
        head = ClassifierHead(64, 0.5, relu_first=False)
        head.build((None, 1, 1, 64))
        head.kernel.assign(np.eye(64, dtype=np.float32))
        drop = DropPath(0.5, 0, 1, 1)
        rnn = RnnChild(10, RnnConfig(num_nodes=1, embed_size=32, hidden_size=32, drop_e=0.0,
                                     drop_i=0.5, drop_x=0.0, drop_l=0.0, drop_o=0.0))
        rnn.build()
    # Both replicas get the same input, so any difference comes from the masks.
    ones = tf.data.Dataset.from_tensors(tf.ones([64, 1, 1, 64]))   # 32 examples per replica

    @tf.function
    def step(x):
        def replica(x):
            return (head(x, training=True), drop(x, step=0, training=True, salt=0),
                    rnn.sample_masks(4).embed)
        return strategy.run(replica, args=(x,))

    for batch in strategy.experimental_distribute_dataset(ones):
        outs = [[t.numpy() for t in strategy.experimental_local_results(o)] for o in step(batch)]
    for name, (r0, r1) in zip(("head", "drop_path", "rnn"), outs):
        assert r0.shape == r1.shape and not np.array_equal(r0, r1), name
    # Every replica counts the one call once (only_first_replica), not twice.
    for counter in (head.dropout_step, rnn.dropout_step):
        assert [int(v.numpy()) for v in counter.value.values] == [1, 1], counter.path
    print("REPLICAS_DIFFER")
""")


def test_mirrored_replicas_draw_different_masks():
    proc = subprocess.run([sys.executable, "-c", MIRRORED_SCRIPT], capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert "REPLICAS_DIFFER" in proc.stdout, proc.stdout[-2000:] + proc.stderr[-4000:]
