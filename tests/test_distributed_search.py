"""The search under real `tf.distribute` strategies on this CPU-only machine.

- MirroredStrategy over 2 logical CPU devices: one child step on a global batch equals, to 1e-5,
  the mean of the two half-batch losses computed on one device from the same weights, and the
  updated weights are identical (BatchNorm in the shared child normalises each replica's half with its
  own batch statistics, so "the same batch" means the same two halves).
- MultiWorkerMirroredStrategy: two worker processes on 127.0.0.1 with TF_CONFIG finish a tiny
  search and derive the same architecture.
"""

import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest

from cli_runner import TINY_SEARCH

MIRRORED_SCRIPT = textwrap.dedent("""
    import numpy as np
    import tensorflow as tf
    from enas_tf2.training.strategy import make_strategy
    from enas_tf2.configs.base import ControllerConfig, DataConfig, OptimizerConfig
    from enas_tf2.search_space.micro.config import MicroConfig
    from enas_tf2.search_space.micro.space import MicroSpace
    from enas_tf2.data.specs import ImageSpec
    from enas_tf2.tasks.image_classification import ImageClassificationTask
    from enas_tf2.training.search_steps import SearchSteps, seed_for, CHILD_STREAM
    from enas_tf2.controller.gradient_accumulator import GradientAccumulator
    import keras

    mirrored = make_strategy("mirrored", num_cpu_devices=2)
    assert mirrored.num_replicas_in_sync == 2
    space = MicroSpace(MicroConfig(num_layers=2, num_cells=2, out_filters=4, keep_prob=1.0))
    optim = OptimizerConfig(l2_reg=1e-4, grad_bound=0.5)
    task = ImageClassificationTask(DataConfig(batch_size=8), optim)
    rng = np.random.default_rng(0)
    images = rng.normal(size=(8, 32, 32, 3)).astype("float32")
    labels = rng.integers(0, 10, size=(8,)).astype("int32")

    def make(strategy):
        with strategy.scope():
            keras.utils.set_random_seed(1)
            child = space.build_child(ImageSpec(32, 32, 10))
            ctrl = space.build_controller(ControllerConfig())
            opt = keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True); opt.build(child.trainable_variables)
            copt = keras.optimizers.Adam(); copt.build(ctrl.trainable_variables)
            acc = GradientAccumulator(ctrl.trainable_variables)
            base = tf.Variable(0.0)
            step = tf.Variable(0, dtype=tf.int64)
        return child, ctrl, SearchSteps(strategy, task, child, ctrl, opt, copt, acc, base, step,
                                        ControllerConfig(), optim, run_seed=0)

    child_m, ctrl_m, steps_m = make(mirrored)
    default = tf.distribute.get_strategy()
    child_d, ctrl_d, steps_d = make(default)
    for a, b in zip(child_d.weights + ctrl_d.weights, child_m.weights + ctrl_m.weights):
        a.assign(b.numpy())
    seed = seed_for(CHILD_STREAM, 0, 0)
    ds = tf.data.Dataset.from_tensor_slices((images, labels)).batch(8)
    steps_m.train_loop(iter(mirrored.experimental_distribute_dataset(ds)), tf.constant(1))
    out_m = steps_m.metrics.read_and_reset()   # the step ran with seed_for(CHILD_STREAM, 0, 0)

    # One device, same weights: two half batches, mean loss, mean gradient, same clip and update.
    arch = ctrl_d(seed=seed).arch
    variables = child_d.trainable_variables
    losses, grads = [], []
    for half in (slice(0, 4), slice(4, 8)):
        with tf.GradientTape() as tape:
            logits = child_d(images[half], arch, training=True)
            ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels[half], logits=logits)
            loss = tf.reduce_sum(ce) / 8 + optim.l2_reg * child_d.l2_loss() / 2
        losses.append(float(loss))
        grads.append(tape.gradient(loss, variables))
    total = [g1 + g2 for g1, g2 in zip(*grads)]
    total, _ = tf.clip_by_global_norm(total, optim.grad_bound)
    steps_d.child_optimizer.apply(total, variables)
    print("LOSS", float(out_m["loss"]), sum(losses))
    np.testing.assert_allclose(float(out_m["loss"]), sum(losses), rtol=1e-5, atol=1e-6)
    for vd, vm in zip(variables, child_m.trainable_variables):
        copies = vm.value.values  # the Keras variable wraps a MirroredVariable
        assert len(copies) == 2
        for replica_value in copies:
            np.testing.assert_allclose(replica_value.numpy(), vd.numpy(), rtol=1e-4, atol=1e-6)
    print("MIRRORED_OK")
""")


def test_mirrored_step_equals_one_device():
    proc = subprocess.run([sys.executable, "-c", MIRRORED_SCRIPT], capture_output=True, text=True,
                          timeout=600, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert "MIRRORED_OK" in proc.stdout, proc.stdout[-2000:] + proc.stderr[-4000:]


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


# Slow: the default suite keeps the mirrored-equals-one-device tests; this one starts two workers.
@pytest.mark.slow
def test_two_local_workers_search_and_agree(cifar10_dir, tmp_path):
    out = str(tmp_path / "mw")
    cluster = {"worker": [f"127.0.0.1:{p}" for p in _free_ports(2)]}
    args = TINY_SEARCH + [f"--data_path={cifar10_dir}", f"--output_dir={out}", "--num_epochs=1",
                          "--strategy=multi_worker"]
    procs = []
    for index in range(2):
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
                   TF_CONFIG=json.dumps({"cluster": cluster,
                                         "task": {"type": "worker", "index": index}}))
        procs.append(subprocess.Popen([sys.executable, "-m", "enas_tf2.cli.cnn_main", *args],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      text=True, env=env))
    logs = [p.communicate(timeout=900)[1] for p in procs]
    for p, log in zip(procs, logs):
        assert p.returncode == 0, log[-4000:]
    chief = json.load(open(os.path.join(out, "arch.json")))
    worker = json.load(open(os.path.join(out, "worker-1", "arch.json")))
    assert chief["tokens"] == worker["tokens"]
    assert chief["reward"] == worker["reward"]
    # Only the chief keeps checkpoints and progress rows.
    assert os.path.exists(os.path.join(out, "ckpt", "ckpt-1.index"))
    assert len(open(os.path.join(out, "progress.jsonl")).readlines()) == 1
    assert not os.path.exists(os.path.join(out, ".worker-1-tmp", "ckpt"))
