"""The RNN language models (docs/enas_reference.md §1.3, §5.2): forward values against NumPy, the weight-shared
child against the fixed model (forward and gradients), one trace, dropout masks, penalties,
serialisation and checkpoints."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from enas_tf2.search_space.rnn.arch import RnnArch
from enas_tf2.search_space.rnn.child import RnnChild
from enas_tf2.search_space.rnn.config import RnnConfig
from enas_tf2.search_space.rnn.dropout_masks import DropoutMasks
from enas_tf2.search_space.rnn.net import RnnLM

V, E, B, T = 11, 6, 3, 4


def _config(arch, **overrides):
    values = dict(cell_variant=arch.cell_variant, num_nodes=arch.num_nodes, embed_size=E,
                  hidden_size=E, init_range=0.5)
    values.update(overrides)
    return RnnConfig(**values)


def _models(arch, **overrides):
    """A built child and an RnnLM holding the child's weights for `arch`."""
    keras.utils.set_random_seed(1)
    cfg = _config(arch, **overrides)
    child, lm = RnnChild(V, cfg), RnnLM(arch, V, cfg)
    child.build()
    lm.build()
    lm.embedding.assign(child.embedding)
    func0 = arch.node0_activation()
    w_prev = child.cell.w_prev if arch.cell_variant == "enas_lm" else child.cell.w_prev[func0]
    lm.cell.w_prev.assign(w_prev)
    for k, (node, func) in enumerate(zip(arch.nodes, arch.activations()), start=1):
        lm.cell.node_weights[k - 1].assign(child.cell.node_banks[k - 1][func * k + node.prev])
    return child, lm


def _masks(rng, num_nodes, with_weights=False):
    def mask(shape, keep):
        return tf.constant(np.floor(rng.random(shape) + keep) / keep, tf.float32)
    weights = tuple(mask((E, 2 * E), 0.8) for _ in range(num_nodes + 1)) if with_weights else None
    return DropoutMasks(word=mask((V,), 0.7), embed=mask((B, E), 0.8), inputs=mask((B, E), 0.6),
                        state=mask((B, E), 0.7), output=mask((B, E), 0.5), weights=weights)


# ---- an independent NumPy forward (docs/enas_reference.md §1.3 / §5.2) --------------------------------------
def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


ACTS = {"tanh": np.tanh, "relu": lambda h: np.maximum(h, 0.0), "sigmoid": _sigmoid,
        "identity": lambda h: h}


def _numpy_lm(tokens, state, emb, w_prev, node_ws, nodes, masks, loose):
    """`nodes`: [(prev, activation name)] for 1..K, node 0 first as (None, name); the output is
    the mean of the loose ends (`loose`) or of nodes 1..K; returns (logits, new state, hidden)
    with every mask applied as the recipe says."""
    m = {k: (None if v is None else np.asarray(v, np.float64)) for k, v in masks._asdict().items()
         if k != "weights"}
    x = emb[tokens] * m["word"][tokens][..., None] * m["embed"][:, None] * m["inputs"][:, None]
    s, hidden = state, []
    used = {p for p, _ in nodes[1:]}
    outs = [j for j in range(len(nodes)) if j not in used] if loose else \
        list(range(1, len(nodes)))
    for t in range(tokens.shape[1]):
        h, c = np.split(np.concatenate([x[:, t], s * m["state"]], 1) @ w_prev, 2, axis=1)
        values = [s + _sigmoid(c) * (ACTS[nodes[0][1]](h) - s)]
        for (prev, act), w in zip(nodes[1:], node_ws):
            p = values[prev]
            h, c = np.split((p * m["state"]) @ w, 2, axis=1)
            values.append(p + _sigmoid(c) * (ACTS[act](h) - p))
        s = np.mean([values[j] for j in outs], axis=0)
        hidden.append(s)
    hidden = np.stack(hidden, 1)
    return (hidden * m["output"][:, None]) @ emb.T, s, hidden


@pytest.mark.parametrize("tokens,nodes,loose", [
    # enas_lm: n1 <- n0 sigmoid, n2 <- n1 relu, n3 <- n1 identity; output mean(n1, n2, n3).
    ("0 2 1 1 1 3", [(None, "tanh"), (0, "sigmoid"), (1, "relu"), (1, "identity")], False),
    # original ids (2 = identity, 3 = sigmoid): f0 relu; n1 <- n0 tanh, n2 <- n0 sigmoid,
    # n3 <- n1 identity; loose ends n2, n3.
    ("1 0 0 0 3 1 2", [(None, "relu"), (0, "tanh"), (0, "sigmoid"), (1, "identity")], True),
])
def test_forward_matches_numpy(tokens, nodes, loose):
    arch = RnnArch.from_tokens(tokens)
    child, lm = _models(arch)
    rng = np.random.default_rng(0)
    masks = _masks(rng, arch.num_nodes)
    ids = rng.integers(0, V, (B, T))
    state = rng.normal(size=(B, E)).astype(np.float32)
    want_logits, want_state, _ = _numpy_lm(
        ids, state.astype(np.float64), lm.embedding.numpy().astype(np.float64),
        lm.cell.w_prev.numpy().astype(np.float64),
        [w.numpy().astype(np.float64) for w in lm.cell.node_weights], nodes, masks, loose)
    for logits, new_state in (lm.forward(ids, state, training=True, masks=masks),
                              child.forward(ids, state, arch.to_array(), True, masks)):
        np.testing.assert_allclose(logits.numpy(), want_logits, rtol=2e-5, atol=2e-6)
        np.testing.assert_allclose(new_state.numpy(), want_state, rtol=2e-5, atol=2e-6)
    # Evaluation: no mask at all, the state carries on from the same place.
    ones = DropoutMasks(*[np.ones(s) for s in [(V,), (B, E), (B, E), (B, E), (B, E)]])
    want_logits, want_state, _ = _numpy_lm(
        ids, state.astype(np.float64), lm.embedding.numpy().astype(np.float64),
        lm.cell.w_prev.numpy().astype(np.float64),
        [w.numpy().astype(np.float64) for w in lm.cell.node_weights], nodes, ones, loose)
    logits, new_state = child(ids, state, arch.to_array(), training=False)
    np.testing.assert_allclose(logits.numpy(), want_logits, rtol=2e-5, atol=2e-6)
    assert child.losses == []


def _loss_and_grads(model, variables, call):
    with tf.GradientTape() as tape:
        tape.watch([v for v in variables if isinstance(v, tf.Tensor)])
        logits, state = call()
        ce = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.constant(TARGETS), logits=logits))
        loss = ce + tf.add_n(model.losses) + tf.reduce_sum(tf.sin(state))
    return logits, state, loss, tape.gradient(loss, variables)


TARGETS = np.random.default_rng(5).integers(0, V, (B, T)).astype(np.int32)


@pytest.mark.parametrize("tokens", ["0 2 1 0 1 3 2 1", "0 1 0 0 0 3 1 2 1 0"])
def test_shared_child_equals_fixed_model_forward_and_gradients(tokens):
    """Same weights, same masks (DropConnect included): identical logits, state, penalty
    (alpha, beta) and gradients; the banks' gradient is the fixed weights' at the sampled row
    and zero elsewhere. Weight decay differs by design (scope), so it is off here."""
    arch = RnnArch.from_tokens(tokens)
    child, lm = _models(arch, weight_decay=0.0, alpha=0.3, beta=0.7)
    rng = np.random.default_rng(2)
    masks = _masks(rng, arch.num_nodes, with_weights=True)
    ids = rng.integers(0, V, (B, T))
    state = tf.constant(rng.normal(size=(B, E)), tf.float32)
    arch_t = tf.constant(arch.to_array())
    cv = [child.embedding, child.cell.w_prev] + list(child.cell.node_banks)
    lv = [lm.embedding, lm.cell.w_prev] + list(lm.cell.node_weights)
    c_logits, c_state, c_loss, c_grads = _loss_and_grads(
        child, cv + [state], lambda: child.forward(ids, state, arch_t, True, masks))
    l_logits, l_state, l_loss, l_grads = _loss_and_grads(
        lm, lv + [state], lambda: lm.forward(ids, state, training=True, masks=masks))
    np.testing.assert_allclose(c_logits, l_logits, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(c_state, l_state, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(c_loss, l_loss, rtol=1e-6)
    dense = [tf.convert_to_tensor(g).numpy() for g in c_grads]
    np.testing.assert_allclose(dense[0], tf.convert_to_tensor(l_grads[0]), rtol=1e-4, atol=1e-7)
    func0 = arch.node0_activation()
    w_prev_grad = dense[1] if arch.cell_variant == "enas_lm" else dense[1][func0]
    np.testing.assert_allclose(w_prev_grad, l_grads[1], rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(dense[-1], l_grads[-1], rtol=1e-4, atol=1e-7)    # d state
    for k, (node, func) in enumerate(zip(arch.nodes, arch.activations()), start=1):
        bank_grad = dense[1 + k]
        row = func * k + node.prev
        np.testing.assert_allclose(bank_grad[row], l_grads[1 + k], rtol=1e-4, atol=1e-7)
        assert not np.any(np.delete(bank_grad, row, axis=0))
        assert isinstance(c_grads[1 + k], tf.IndexedSlices)      # sparse: only the slice moves


def test_one_trace_for_every_arch_and_window_length():
    cfg = RnnConfig(num_nodes=5, embed_size=8, hidden_size=8)
    child = RnnChild(V, cfg)
    child.build()

    @tf.function(input_signature=[tf.TensorSpec([B, None], tf.int32),
                                  tf.TensorSpec([10], tf.int32)])
    def step(tokens, arch):
        with tf.GradientTape() as tape:
            logits, _ = child(tokens, child.initial_state(B), arch, training=True)
            loss = tf.reduce_mean(logits) + tf.add_n(child.losses)
        return tape.gradient(loss, child.trainable_variables)

    for seed, length in enumerate([35, 3, 1, 50, 17]):
        grads = step(tf.zeros([B, length], tf.int32), RnnArch.random(5, seed).to_array())
        assert all(g is not None for g in grads)
    assert step.experimental_get_tracing_count() == 1


def test_dropout_masks_are_shared_over_time_and_scaled():
    cfg = RnnConfig(num_nodes=2, embed_size=64, hidden_size=64, drop_e=0.0, drop_i=0.0,
                    drop_x=0.0, drop_l=0.0, drop_o=0.4, drop_w=0.3)
    child = RnnChild(V, cfg)
    child.build()
    tokens = np.random.default_rng(0).integers(0, V, (32, 6))
    top, hidden, _ = child.features(tokens, child.initial_state(32), [0, 1, 1, 0], True)
    ratio = np.where(np.abs(hidden) > 1e-6, top / np.where(hidden == 0, 1, hidden), np.nan)
    # One output mask per (row, unit): the same 0 or 1/keep at every time step.
    per_unit = np.nanmax(ratio, axis=1)
    assert np.all(np.isclose(ratio, per_unit[:, None]) | np.isnan(ratio))
    assert {round(float(v), 4) for v in per_unit[~np.isnan(per_unit)]} <= {0.0, round(1 / 0.6, 4)}
    assert abs(np.mean(per_unit == 0) - 0.4) < 0.05
    masks = DropoutMasks.sample(RnnConfig(drop_w=0.3), vocab_size=1000, batch_size=4, num_nodes=3,
                                seed=1, counter=0)
    assert masks.word.shape == [1000] and masks.embed.shape == [4, 200]
    assert masks.state.shape == [4, 200] and masks.output.shape == [4, 200]
    assert len(masks.weights) == 4 and masks.weights[0].shape == [200, 400]
    assert {round(float(v), 5) for v in masks.word.numpy()} == {0.0, round(1 / 0.9, 5)}
    assert DropoutMasks.sample(RnnConfig(drop_w=0.0), 10, 2, 3, 1, 0).weights is None


def test_word_dropout_drops_a_word_type_everywhere():
    cfg = RnnConfig(num_nodes=1, embed_size=4, hidden_size=4, drop_e=0.5, drop_i=0.0,
                    drop_x=0.0, drop_l=0.0, drop_o=0.0)
    lm = RnnLM(RnnArch.from_tokens("0 0"), V, cfg)
    lm.build()
    word = np.array([1.0] * 5 + [0.0] * 6, np.float32)            # ids 5..10 are dropped
    masks = DropoutMasks(word=tf.constant(word))
    tokens = np.array([[5, 1, 5, 9], [2, 9, 3, 3], [7, 7, 7, 7]])
    _, hidden, _ = lm.features(tokens, lm.initial_state(3), None, True, masks)
    _, zero_input, _ = lm.features(np.full((3, 4), 0), lm.initial_state(3), None, True,
                                   DropoutMasks(word=tf.zeros([V])))
    # Row 2 only reads dropped words: exactly the state sequence of an all-zero input.
    np.testing.assert_allclose(hidden[2], zero_input[2], atol=1e-7)
    assert not np.allclose(hidden[1], zero_input[1])


def test_penalty_terms():
    arch = RnnArch.from_tokens("0 1 1 2")
    child, lm = _models(arch, weight_decay=1e-3, alpha=0.5, beta=2.0)
    rng = np.random.default_rng(4)
    hidden = tf.constant(rng.normal(size=(B, T, E)), tf.float32)
    h = hidden.numpy().astype(np.float64)
    activity = 0.5 * np.mean(h ** 2) + 2.0 * np.mean((h[:, 1:] - h[:, :-1]) ** 2)
    all_weights = sum(np.sum(w.numpy().astype(np.float64) ** 2) for w in lm.trainable_weights)
    np.testing.assert_allclose(lm.penalty(hidden), 1e-3 * all_weights + activity, rtol=1e-5)
    # The child decays node 0 and the two sampled slices only (not the embedding).
    banks = child.cell.node_banks
    active = (np.sum(child.cell.w_prev.numpy() ** 2) + np.sum(banks[0][1 * 1 + 0].numpy() ** 2)
              + np.sum(banks[1][2 * 2 + 1].numpy() ** 2))
    np.testing.assert_allclose(child.penalty(hidden, arch.to_array()),
                               1e-3 * active + activity, rtol=1e-5)
    # A one-step window has no slowness term (and no NaN).
    np.testing.assert_allclose(lm.penalty(hidden[:, :1]),
                               1e-3 * all_weights + 0.5 * np.mean(h[:, :1] ** 2), rtol=1e-5)


def test_get_config_round_trips(tmp_path):
    arch = RnnArch.from_tokens("0 0 0 1 1 2 1")                    # original encoding
    cfg = _config(arch, alpha=0.7, beta=0.0, tie_weights=False, embed_size=5)
    lm = RnnLM(arch, V, cfg)
    lm.build()
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(lm))
    assert clone.arch == arch and clone.rnn_config == cfg
    assert lm.get_config()["arch"] == "0 0 0 1 1 2 1"
    clone.set_weights(lm.get_weights())
    ids, state = np.ones((2, 3), np.int32), lm.initial_state(2)
    np.testing.assert_allclose(clone(ids, state)[0], lm(ids, state)[0], rtol=1e-6)
    child = RnnChild(V, cfg)
    assert RnnChild.from_config(child.get_config()).rnn_config == cfg


@pytest.mark.parametrize("make", [
    lambda: RnnChild(V, RnnConfig(num_nodes=3, embed_size=4, hidden_size=4)),
    lambda: RnnLM(RnnArch.from_tokens("0 1 1 2 0 3"), V,
                  RnnConfig(num_nodes=3, embed_size=4, hidden_size=4))], ids=["child", "lm"])
def test_checkpoint_holds_and_restores_every_weight(make, tmp_path):
    source, target = make(), make()
    source.build()
    target.build()
    rng = np.random.default_rng(0)
    for weight in source.weights:
        weight.assign(rng.normal(size=weight.shape).astype(np.float32))
    path = tf.train.Checkpoint(model=source).save(str(tmp_path / "ckpt"))
    saved = [name for name, _ in tf.train.list_variables(path) if name.startswith("model/")]
    assert len(saved) == len(source.weights)
    tf.train.Checkpoint(model=target).restore(path).assert_existing_objects_matched()
    for a, b in zip(source.weights, target.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_space_builds_everything_and_checks_archs():
    from enas_tf2.configs.base import ControllerConfig
    from enas_tf2.errors import EnasError
    from enas_tf2.search_space.registry import get_space
    from enas_tf2.data.specs import TokenSpec

    space = get_space("rnn", RnnConfig(num_nodes=8, embed_size=4, hidden_size=4))
    assert space.name == "rnn" and space.task == "language_model"
    arch = space.arch_from_tokens("0 2 1 0 2 1 2 2 4 0 5 0 3 2 6 2")
    assert space.arch_from_json(arch.to_json()) == arch
    assert space.arch_from_array(arch.to_array()) == arch
    assert space.random_arch(3).num_nodes == 8
    controller = space.build_controller(ControllerConfig(lstm_size=8))
    assert controller(seed=1).arch.shape == [16]
    child = space.build_child(TokenSpec(vocab_size=V))
    net = space.build_fixed(arch, TokenSpec(vocab_size=V), total_steps=1)
    # 10 float weights + the int64 count of training calls that seeds the dropout masks.
    assert child.built and net.built and len(net.weights) == 10 + 1
    with pytest.raises(EnasError, match="num_nodes=8"):
        space.arch_from_tokens("0 1 1 2")
    with pytest.raises(EnasError, match="has 23 tokens"):
        space.arch_from_tokens("0 0 0 1 1 2 1 2 0 2 0 5 1 1 0 6 1 8 1 8 1 8 1")
