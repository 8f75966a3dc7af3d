"""The micro controller (docs/enas_reference.md §2.1, §2.3; §11 check 5) on the shared controller machinery."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from enas_tf2.configs.base import ControllerConfig
from enas_tf2.errors import EnasError
from enas_tf2.search_space.micro import MicroArch, MicroController

PUBLISHED = ("0 2 0 0 0 4 0 1 0 4 1 1 1 0 0 1 0 2 1 1 "
             "1 0 1 0 0 3 0 2 1 1 3 1 1 0 0 4 0 3 1 1")
# Every logit transform is switched on; a wider init makes the policy far from uniform, so a
# wrong step order or a missing transform changes the log-probability visibly.
CFG = ControllerConfig(lstm_size=16, init_range=0.5, temperature=2.0, tanh_constant=1.5)
OP_TANH_REDUCE = 2.5


def _controller(cfg=CFG, num_cells=5, seed=0):
    keras.utils.set_random_seed(seed)
    controller = MicroController(num_cells=num_cells, config=cfg, op_tanh_reduce=OP_TANH_REDUCE)
    controller.build()
    return controller


@pytest.fixture(scope="module")
def controller():
    return _controller()


# ---- a NumPy replay of docs/enas_reference.md §2.3, step by step, from the layer's weights -----------------
def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _log_softmax(x):
    x = x - x.max()
    return x - np.log(np.exp(x).sum())


def _replay(c, arch, cfg):
    """Sum of per-decision log-softmax values and full entropies of `arch` ([2, n, 4])."""
    w = {name: np.asarray(v, np.float64) for name, v in [
        ("lstm", c.lstm.kernels[0]), ("g_emb", c.g_emb), ("w_emb", c.w_emb),
        ("w_soft", c.w_soft), ("b_soft", c.b_soft), ("w1", c.attention.w_1),
        ("w2", c.attention.w_2), ("v", c.attention.v)]}
    s = w["g_emb"].shape[1]

    def lstm(x, state):
        cell, h = state
        i, f, o, g = np.split(np.concatenate([x, h], 1) @ w["lstm"], 4, axis=1)
        cell = _sigmoid(i) * np.tanh(g) + _sigmoid(f) * cell
        return cell, _sigmoid(o) * np.tanh(cell)

    def shaped(logits, tanh_constant):
        return tanh_constant * np.tanh(logits / cfg.temperature)

    log_prob = entropy = 0.0

    def record(logits, choice):
        nonlocal log_prob, entropy
        log_p = _log_softmax(logits)
        log_prob += log_p[choice]
        entropy += -(np.exp(log_p) * log_p).sum()

    state = (np.zeros((1, s)), np.zeros((1, s)))
    for cell_id in range(2):                    # normal pass, then reduction from its state
        x = w["g_emb"]
        anchors, keys = [], []
        for _ in range(2):
            state = lstm(x, state)
            anchors.append(np.zeros((1, s)))
            keys.append(state[1] @ w["w1"])
        for idx_1, op_1, idx_2, op_2 in arch[cell_id]:
            for index in (idx_1, idx_2):         # sampling order: both indices first
                state = lstm(x, state)
                scores = (np.tanh(np.concatenate(keys) + state[1] @ w["w2"]) @ w["v"]).ravel()
                record(shaped(scores, cfg.tanh_constant), index)
                x = anchors[index]
            for op in (op_1, op_2):
                state = lstm(x, state)
                logits = shaped((state[1] @ w["w_soft"] + w["b_soft"]).ravel(),
                                cfg.tanh_constant / OP_TANH_REDUCE)
                if cell_id == 0:
                    logits = logits + np.array([0.25, 0.25, -0.25, -0.25, -0.25])
                record(logits, op)
                x = w["w_emb"][op][None]
            state = lstm(x, state)
            anchors.append(state[1])
            keys.append(state[1] @ w["w1"])
            x = w["g_emb"]
    return log_prob, entropy


def test_log_prob_of_given_arch_equals_numpy_replay(controller):
    arch = MicroArch.from_tokens(PUBLISHED).to_array()
    out = controller(arch=arch)
    expected_log_prob, expected_entropy = _replay(controller, arch, CFG)
    assert out.arch.dtype == tf.int32
    np.testing.assert_array_equal(out.arch.numpy(), arch)
    np.testing.assert_allclose(out.log_prob.numpy(), expected_log_prob, rtol=1e-5)
    np.testing.assert_allclose(out.entropy.numpy(), expected_entropy, rtol=1e-5)
    assert float(out.aux_loss) == 0.0
    # The replay is sensitive to the order: swapping op_1 and index_2 columns changes it.
    swapped = arch.copy()
    swapped[0, 0] = [0, 0, 0, 2]
    assert abs(controller(arch=swapped).log_prob.numpy() - expected_log_prob) > 1e-3


def test_sampled_arch_scores_to_the_same_log_prob(controller):
    for seed in ([3, 4], [11, 0]):
        sampled = controller(seed=tf.constant(seed, tf.int64))
        scored = controller(arch=sampled.arch)
        np.testing.assert_allclose(scored.log_prob.numpy(), sampled.log_prob.numpy(), rtol=1e-6)
        np.testing.assert_allclose(scored.entropy.numpy(), sampled.entropy.numpy(), rtol=1e-6)
        replayed, _ = _replay(controller, sampled.arch.numpy(), CFG)
        np.testing.assert_allclose(sampled.log_prob.numpy(), replayed, rtol=1e-5)


def test_closed_form_log_prob_with_flat_logits():
    """Zero attention vector and op weights: indices are uniform over the node's inputs and ops
    follow softmax([.25, .25, -.25, -.25, -.25]) in the normal cell, uniform in the reduction."""
    c = _controller(ControllerConfig(lstm_size=8), num_cells=3)
    for var in (c.attention.v, c.w_soft, c.b_soft):
        var.assign(np.zeros(var.shape, np.float32))
    arch = MicroArch.from_tokens("0 2 1 0  2 4 0 1  3 3 1 0   1 0 0 1  0 3 2 2  3 4 0 1")
    normal_bias = np.array([0.25, 0.25, -0.25, -0.25, -0.25])
    log_p_normal_ops = _log_softmax(normal_bias)
    expected = 0.0
    for node_id in (2, 3, 4):
        expected += 2 * 2 * np.log(1.0 / node_id)             # 2 indices x 2 cells
    for idx_1, op_1, idx_2, op_2 in arch.normal:
        expected += log_p_normal_ops[op_1] + log_p_normal_ops[op_2]
    expected += 6 * np.log(1.0 / 5)                            # reduction ops: uniform
    entropy = 4 * sum(np.log(n) for n in (2, 3, 4)) + 6 * np.log(5) \
        - 6 * (np.exp(log_p_normal_ops) * log_p_normal_ops).sum()
    out = c(arch=arch)                                         # a MicroArch is accepted too
    np.testing.assert_allclose(out.log_prob.numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(out.entropy.numpy(), entropy, rtol=1e-6)


def test_emitted_order_is_idx1_op1_idx2_op2():
    # Raw logits (no tanh): a huge identity bias makes every op 4, which no index of node 2 or 3
    # can be, so the columns holding 4 are the op columns.
    c = _controller(ControllerConfig(lstm_size=8), num_cells=2)
    c.b_soft.assign(np.array([[-100.0, -100.0, -100.0, -100.0, 100.0]], np.float32))
    for seed in range(5):
        arch = c(seed=[seed, 1]).arch.numpy()
        assert arch.shape == (2, 2, 4)
        assert np.all(arch[:, :, [1, 3]] == 4)
        assert np.all(arch[:, 0, [0, 2]] <= 1) and np.all(arch[:, 1, [0, 2]] <= 2)


def test_seeds_are_deterministic_and_distinct(controller):
    first = controller(seed=tf.constant([7, 8], tf.int64)).arch.numpy()
    again = controller(seed=tf.constant([7, 8], tf.int32)).arch.numpy()
    np.testing.assert_array_equal(first, again)
    others = [controller(seed=[7, s]).arch.numpy() for s in range(9, 13)]
    assert all(not np.array_equal(first, o) for o in others)
    arch = controller.sample_arch(5)
    assert isinstance(arch, MicroArch) and arch == controller.sample_arch([5, 0])


def test_one_trace_for_many_seeds(controller):
    sample = tf.function(lambda seed: controller(seed=seed))
    archs = [sample(tf.constant([s, 0], tf.int64)).arch.numpy() for s in range(4)]
    assert sample.experimental_get_tracing_count() == 1
    np.testing.assert_array_equal(archs[2], controller(seed=tf.constant([2, 0], tf.int64)).arch)
    assert len({a.tobytes() for a in archs}) == 4


def test_gradients_reach_every_weight(controller):
    with tf.GradientTape() as tape:
        out = controller(seed=[1, 2])
    variables = controller.trainable_variables
    names = sorted(v.path.split("/")[-1] for v in variables)
    assert names == ["b_soft", "g_emb", "layer_0_kernel", "v", "w_1", "w_2", "w_emb", "w_soft"]
    for var, grad in zip(variables, tape.gradient(out.log_prob, variables)):
        assert grad is not None, var.path
        grad = tf.convert_to_tensor(grad).numpy()
        assert np.all(np.isfinite(grad)) and np.abs(grad).max() > 0, var.path


def test_bad_calls_are_refused(controller):
    with pytest.raises(EnasError, match="exactly one of seed="):
        controller()
    with pytest.raises(EnasError, match="exactly one of seed="):
        controller(seed=[1, 2], arch=np.zeros((2, 5, 4), np.int32))
    with pytest.raises(EnasError, match=r"shape \[2, 5, 4\]"):
        controller(arch=np.zeros((2, 4, 4), np.int32))
    with pytest.raises(EnasError, match="integer or a pair"):
        controller(seed=[1, 2, 3])
    with pytest.raises(EnasError, match="num_cells must be an integer >= 1"):
        MicroController(num_cells=0)


def test_config_round_trip(controller):
    clone = MicroController.from_config(controller.get_config())
    assert clone.num_cells == 5 and clone.controller_config == CFG
    clone.build()
    clone.set_weights(controller.get_weights())
    np.testing.assert_array_equal(clone(seed=[4, 4]).arch, controller(seed=[4, 4]).arch)


_MIRRORED_SCRIPT = textwrap.dedent("""
    import json
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from enas_tf2.configs.base import ControllerConfig
    from enas_tf2.controller import reinforce
    from enas_tf2.controller.gradient_accumulator import GradientAccumulator
    from enas_tf2.search_space.micro import MicroController

    keras.utils.set_random_seed(0)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    cfg = ControllerConfig(lstm_size=16, tanh_constant=1.5, lr=0.01)
    with strategy.scope():
        controller = MicroController(num_cells=3, config=cfg, op_tanh_reduce=2.5)
        controller.build()
        optimizer = reinforce.make_optimizer(cfg)
        optimizer.build(controller.trainable_variables)
        accumulator = GradientAccumulator(controller.trainable_variables)

    def replica_sample(seed):
        with tf.GradientTape() as tape:
            out = controller(seed=seed)
            loss = reinforce.reinforce_loss(out.log_prob, 1.0, 0.0)
        grads = tape.gradient(loss, controller.trainable_variables)
        accumulator.add(grads)
        return out.arch

    def replica_apply(grads):
        # Keras sums gradients over replicas; hand it 1/N of the (identical) mean.
        n = strategy.num_replicas_in_sync
        optimizer.apply([g / n for g in grads], controller.trainable_variables)

    seed = tf.constant([5, 6], tf.int64)
    before = [v.numpy() for v in controller.trainable_variables]
    with tf.GradientTape() as tape:                  # reference gradient, cross-replica, eager
        ref_loss = reinforce.reinforce_loss(controller(seed=seed).log_prob, 1.0, 0.0)
    ref_grads = [tf.convert_to_tensor(g).numpy()
                 for g in tape.gradient(ref_loss, controller.trainable_variables)]

    @tf.function
    def step(seed):
        per_replica = strategy.run(replica_sample, args=(seed,))
        cross = controller(seed=seed).arch          # cross-replica context, same seed
        mean = accumulator.mean()
        strategy.run(replica_apply, args=(mean,))
        accumulator.reset()
        return strategy.experimental_local_results(per_replica), cross, mean

    archs, cross, mean = step(seed)
    weights = [[w.numpy() for w in strategy.experimental_local_results(v.value)]
               for v in controller.trainable_variables]
    print(json.dumps({
        "replicas": strategy.num_replicas_in_sync,
        "archs": [a.numpy().tolist() for a in archs],
        "cross": cross.numpy().tolist(),
        "weights_equal": all(np.array_equal(ws[0], ws[1]) for ws in weights),
        "weights_changed": all(not np.array_equal(ws[0], b) for ws, b in zip(weights, before)),
        "mean_error": max(float(np.abs(m.numpy() - r).max()) for m, r in zip(mean, ref_grads)),
        "count_after_reset": float(accumulator.count),
        "updated": int(optimizer.iterations.numpy()),
    }))
""")


def test_mirrored_replicas_sample_the_same_arch():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, "-c", _MIRRORED_SCRIPT], capture_output=True,
                          text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2
    first, second = result["archs"]
    assert np.array(first).shape == (2, 3, 4)
    assert first == second == result["cross"]
    assert result["weights_equal"] and result["weights_changed"] and result["updated"] == 1
    # Both replicas added the same gradient: the MEAN-aggregated sum is the reference gradient.
    assert result["mean_error"] < 1e-5 and result["count_after_reset"] == 0.0
