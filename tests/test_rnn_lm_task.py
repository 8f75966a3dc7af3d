"""The language-model task (docs/enas_reference.md §5.2): perplexity aggregation, reward, carried state and its
reset points, loss composition, gradient scale, weight averaging, per-replica state."""

import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from enas_tf2.data.text.config import TextDataConfig
from enas_tf2.errors import EnasError
from enas_tf2.search_space.rnn.arch import RnnArch
from enas_tf2.search_space.rnn.config import RnnConfig
from enas_tf2.search_space.rnn.net import RnnLM
from enas_tf2.search_space.rnn.presets import FINAL_OPTIMIZER, SEARCH_OPTIMIZER
from enas_tf2.tasks.language_model import LanguageModelTask
from enas_tf2.tasks.language_model.weight_averager import WeightAverager

V, B = 13, 4
NO_DROPOUT = dict(drop_e=0.0, drop_i=0.0, drop_x=0.0, drop_l=0.0, drop_o=0.0, drop_w=0.0)


def _lm(**overrides):
    keras.utils.set_random_seed(3)
    values = dict(num_nodes=2, embed_size=5, hidden_size=5, init_range=0.6, weight_decay=0.0,
                  alpha=0.0, beta=0.0, **NO_DROPOUT)
    values.update(overrides)
    lm = RnnLM(RnnArch.from_tokens("0 0 1 2"), V, RnnConfig(**values))
    lm.build()
    return lm


def _task(lm, carry=False, **kwargs):
    task = LanguageModelTask(TextDataConfig(batch_size=B, bptt=5, eval_batch_size=B,
                                            test_batch_size=2), FINAL_OPTIMIZER,
                             carry_eval_state=carry, **kwargs)
    task.create_state(lm, B)
    return task


def _log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def _numpy_nll(lm, tokens, state=None):
    """Per-token NLL of `tokens` [B, T+1] from one model pass (numpy log-softmax)."""
    state = lm.initial_state(tokens.shape[0]) if state is None else state
    logits, _ = lm(tokens[:, :-1], state)
    logp = _log_softmax(logits.numpy().astype(np.float64))
    return -np.take_along_axis(logp, tokens[:, 1:, None], -1)[..., 0]


def test_perplexity_is_exp_of_the_token_mean_and_reward_is_80_over_it():
    lm = _lm()
    task = _task(lm)
    rng = np.random.default_rng(0)
    batches = [rng.integers(0, V, (B, 4)), rng.integers(0, V, (B, 9))]
    stats = [task.eval_stats(lm, {"tokens": tf.constant(b)}) for b in batches]
    total = {k: sum(float(s[k]) for s in stats) for k in ("nll_sum", "tokens")}
    nll = np.concatenate([_numpy_nll(lm, b).ravel() for b in batches])
    assert total["tokens"] == nll.size == B * 3 + B * 8
    np.testing.assert_allclose(total["nll_sum"], nll.sum(), rtol=1e-5)
    ppl = np.exp(nll.mean())
    np.testing.assert_allclose(task.score(total), ppl, rtol=1e-5)
    per_batch = np.mean([np.exp(_numpy_nll(lm, b).mean()) for b in batches])
    assert abs(per_batch - ppl) > 1e-3            # a mean of batch perplexities would differ
    summed = {k: tf.constant(v, tf.float32) for k, v in total.items()}
    np.testing.assert_allclose(task.reward(summed), 80.0 / ppl, rtol=1e-5)
    np.testing.assert_allclose(task.train_metric(summed), ppl, rtol=1e-5)
    assert task.metrics.unit == "tok" and not task.metrics.higher_is_better
    assert task.metrics.score == "perplexity" and task.name == "language_model"


def test_training_state_carries_between_windows_and_resets():
    lm = _lm()
    task = _task(lm)
    stream = np.random.default_rng(1).integers(0, V, (B, 12))
    first, second = stream[:, :6], stream[:, 5:]            # consecutive windows of the rows
    task.train_loss(lm, {"tokens": tf.constant(first)}, [])
    loss, stats = task.train_loss(lm, {"tokens": tf.constant(second)}, [])
    whole = _numpy_nll(lm, stream)                          # one pass over all 11 inputs
    np.testing.assert_allclose(float(loss), whole[:, 5:].mean(), rtol=1e-5)
    np.testing.assert_allclose(float(stats["nll_sum"]), whole[:, 5:].sum(), rtol=1e-5)
    task.reset_state()
    loss, _ = task.train_loss(lm, {"tokens": tf.constant(second)}, [])
    np.testing.assert_allclose(float(loss), _numpy_nll(lm, second).mean(), rtol=1e-5)


def test_evaluation_state_carried_only_when_asked():
    lm = _lm()
    stream = np.random.default_rng(2).integers(0, V, (2, 11))
    windows = [stream[:, :6], stream[:, 5:]]
    for carry in (True, False):
        task = _task(lm, carry=carry)
        # Test batches (2 rows) have their own state, untouched by training and validation.
        task.train_loss(lm, {"tokens": tf.constant(np.ones((B, 6), np.int64))}, [])
        got = [float(task.eval_stats(lm, {"tokens": tf.constant(w)})["nll_sum"])
               for w in windows]
        want = _numpy_nll(lm, stream)[:, 5:].sum() if carry else _numpy_nll(lm, windows[1]).sum()
        np.testing.assert_allclose(got[1], want, rtol=1e-5)
    task = _task(lm, carry=True)
    with pytest.raises(EnasError, match="no carried evaluation state for batches of 3 rows"):
        task.eval_stats(lm, {"tokens": tf.constant(np.ones((3, 4), np.int64))})


def test_loss_adds_the_model_penalty_and_gradient_scale():
    lm = _lm(alpha=0.5, beta=2.0, weight_decay=1e-3)
    task = _task(lm)
    tokens = np.random.default_rng(3).integers(0, V, (B, 8))
    loss, stats = task.train_loss(lm, {"tokens": tf.constant(tokens)}, [])
    _, hidden, _ = lm.features(tokens[:, :-1], lm.initial_state(B), training=True)
    want = _numpy_nll(lm, tokens).mean() + float(lm.penalty(hidden))
    np.testing.assert_allclose(float(loss), want, rtol=1e-5)
    assert float(stats["tokens"]) == B * 7
    np.testing.assert_allclose(task.gradient_scale({"tokens": tf.constant(tokens)}), 7 / 5)
    optimizer, lr = task.make_optimizer(100)
    assert isinstance(optimizer, keras.optimizers.SGD) and float(optimizer.momentum) == 0.0
    assert float(lr(0)) == float(lr(10_000)) == 20.0


def test_bad_setup():
    with pytest.raises(EnasError, match="weight decay is the RNN space's"):
        from enas_tf2.configs.base import OptimizerConfig
        LanguageModelTask(TextDataConfig(), OptimizerConfig(l2_reg=1e-4))
    task = LanguageModelTask(TextDataConfig(batch_size=4), SEARCH_OPTIMIZER)
    with pytest.raises(EnasError, match="create_state"):
        task.train_loss(None, {"tokens": tf.zeros([4, 3], tf.int32)}, [])


def test_weight_averager_trigger_average_and_swap():
    weight = tf.Variable([0.0, 0.0])
    averager = WeightAverager([weight], patience=2)
    task_like = [5.0, 4.0, 3.0, 3.5]                # 3.5 is not worse than min([5]) -> ...
    for score in task_like:
        averager.update()                          # not started: nothing happens
        assert not averager.observe(score) or score == 3.5
    # history [5, 4, 3, 3.5]: 3.5 > min(history[:-2] = [5, 4]) is False -> still off.
    assert not bool(averager.started.numpy())
    assert averager.observe(4.5)                   # 4.5 > min([5, 4, 3]) = 3 -> starts
    for value in ([1.0, 2.0], [3.0, 6.0], [5.0, 1.0]):
        weight.assign(value)
        averager.update()
    np.testing.assert_allclose(averager.averages[0].numpy(), [3.0, 3.0])      # uniform mean
    with averager.averaged_weights() as used:
        assert used
        np.testing.assert_allclose(weight.numpy(), [3.0, 3.0])
    np.testing.assert_allclose(weight.numpy(), [5.0, 1.0])                    # restored
    averager.observe(99.0)
    assert bool(averager.started.numpy())          # once on, it stays on


def test_task_averaging_hooks():
    lm = _lm()
    task = _task(lm, carry=True, average_weights=True, averaging_patience=1)
    # One replica: the carried training state is saved too (exact mid-epoch resume).
    assert set(task.checkpoint_items()) == {"lm_averager", "lm_train_state"}
    with task.eval_weights() as used:
        assert not used
    task.observe_validation(10.0)
    task.observe_validation(11.0)
    assert task.observe_validation(12.0)           # 12 > min([10]) with patience 1
    before = [w.numpy().copy() for w in lm.trainable_weights]
    task.after_train_step()
    for w in lm.trainable_weights:
        w.assign(w + 1.0)
    task.after_train_step()
    with task.eval_weights() as used:
        assert used
        for w, b in zip(lm.trainable_weights, before):
            np.testing.assert_allclose(w.numpy(), b + 0.5, rtol=1e-6)
    no_avg = _task(lm)
    assert set(no_avg.checkpoint_items()) <= {"lm_train_state"}
    assert not no_avg.observe_validation(1.0)
    no_avg.after_train_step()


MIRRORED = textwrap.dedent("""
    import keras, numpy as np, tensorflow as tf
    from enas_tf2.training.strategy import make_strategy
    from enas_tf2.data.text.config import TextDataConfig
    from enas_tf2.search_space.rnn.arch import RnnArch
    from enas_tf2.search_space.rnn.config import RnnConfig
    from enas_tf2.search_space.rnn.net import RnnLM
    from enas_tf2.search_space.rnn.presets import FINAL_OPTIMIZER
    from enas_tf2.tasks.language_model import LanguageModelTask

    mirrored = make_strategy("mirrored", num_cpu_devices=2)
    cfg = RnnConfig(num_nodes=2, embed_size=6, hidden_size=6, drop_e=0.0, drop_i=0.0, drop_x=0.0,
                    drop_l=0.0, drop_o=0.0, alpha=0.3, beta=0.5, weight_decay=1e-3)
    data = TextDataConfig(batch_size=4, bptt=5, eval_batch_size=4, test_batch_size=2)
    stream = np.random.default_rng(0).integers(0, 17, (4, 12)).astype(np.int32)
    windows = [{"tokens": tf.constant(stream[:, :6])}, {"tokens": tf.constant(stream[:, 5:])}]

    def run(strategy):
        with strategy.scope():
            keras.utils.set_random_seed(5)
            lm = RnnLM(RnnArch.from_tokens("0 1 1 0"), 17, cfg)
            lm.build()
            task = LanguageModelTask(data, FINAL_OPTIMIZER)
            task.create_state(lm, 4)

        @tf.function
        def step(batch):
            def replica(b):
                with tf.GradientTape() as tape:
                    loss, stats = task.train_loss(lm, b, [])
                return loss, tape.gradient(loss, lm.trainable_variables)
            loss, grads = strategy.run(replica, args=(batch,))
            total = strategy.reduce("SUM", loss, axis=None)
            return total, [strategy.reduce("SUM", g, axis=None) for g in grads]

        out = []
        for w in windows:
            batch = next(iter(strategy.experimental_distribute_dataset(
                tf.data.Dataset.from_tensors(w))))
            out.append(step(batch))
        state = np.concatenate([v.numpy() for v in task._train_state.values]) \\
            if hasattr(task._train_state, "values") else task._train_state.numpy()
        task.reset_state()
        zero = [v.numpy() for v in getattr(task._train_state, "values", [task._train_state])]
        return out, state, zero

    (one, state1, _), (two, state2, zero2) = run(tf.distribute.OneDeviceStrategy("/cpu:0")), \\
        run(mirrored)
    for (l1, g1), (l2, g2) in zip(one, two):
        np.testing.assert_allclose(l1, l2, rtol=1e-5)
        for a, b in zip(g1, g2):
            np.testing.assert_allclose(tf.convert_to_tensor(a), tf.convert_to_tensor(b),
                                       rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(state1, state2, rtol=1e-5, atol=1e-7)
    assert len(zero2) == 2 and all(not z.any() for z in zero2)
    print("OK")
""")


def test_two_replicas_equal_one_device_and_carry_their_own_rows():
    out = subprocess.run([sys.executable, "-c", MIRRORED], capture_output=True, text=True,
                         timeout=300)
    assert "OK" in out.stdout, out.stderr[-3000:]
