"""Benchmark: train step of the weight-shared RnnChild vs the fixed RnnLM of the same cell.

Defaults are enas_lm's search settings (docs/enas_reference.md §5.2) at the issue's batch: hidden = embedding
200, vocabulary 10,000, batch 64, bptt 35 with enas_lm's random window lengths, K = 9 nodes, all
search dropouts, weight decay 8e-7, slowness 1.0. Both models run the same step through
`LanguageModelTask.train_loss` (carried state, token CE + the model's penalty), global-norm clip
0.1, gradients scaled by T / 35, plain SGD lr 20 (sparse bank gradients stay sparse).

Measured in ONE process, interleaved: per round and arch, the same list of `--steps` window
lengths is run through the shared step and the static step (order alternating). The shared step
is ONE `tf.function` for every arch and every length (``traces`` must stay 1); each static model
has its own. Ratios are per (round, arch) from medians; ``ratio_median`` is their median, also
from process CPU time (depends less on the other jobs on the 2 shared cores). ``head_only_s`` is
the same step without a cell (embedding -> tied softmax -> CE -> SGD): the floor any cell sits on.

    python bench/rnn_step.py              # prints a table, then the RESULT line last
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from child_step import ops_keys, ops_line  # noqa: E402
from measure import (COUNT_FLAG, add_load_flags, count_node_visits, load_text,  # noqa: E402
                     run_marked_steps, wait_for_quiet_machine)
from enas_tf2.data.text import ptb  # noqa: E402
from enas_tf2.data.text.config import TextDataConfig  # noqa: E402
from enas_tf2.search_space.rnn.arch import RnnArch  # noqa: E402
from enas_tf2.search_space.rnn.child import RnnChild  # noqa: E402
from enas_tf2.search_space.rnn.config import RnnConfig  # noqa: E402
from enas_tf2.search_space.rnn.net import RnnLM  # noqa: E402
from enas_tf2.search_space.rnn.presets import SEARCH_OPTIMIZER  # noqa: E402
from enas_tf2.tasks.language_model import LanguageModelTask  # noqa: E402


def _scaled(grad, scale):
    """`grad * scale` without densifying IndexedSlices (only the sampled bank rows move)."""
    if isinstance(grad, tf.IndexedSlices):
        return tf.IndexedSlices(grad.values * scale, grad.indices, grad.dense_shape)
    return grad * scale


def make_train_step(model, task, batch: int, arch_len, counter: list):
    """A tf.function train step; `arch_len` None for the fixed model. `counter[0]` counts
    Python traces."""
    optimizer, _ = task.make_optimizer(1000)
    variables = model.trainable_variables
    optimizer.build(variables)
    bound = task.optim.grad_bound
    tokens_spec = tf.TensorSpec([batch, None], tf.int32)

    def body(tokens, forward):
        counter[0] += 1
        batch_ = {"tokens": tokens}
        with tf.GradientTape() as tape:
            loss, _ = task.train_loss(forward, batch_, variables)
        grads, _ = tf.clip_by_global_norm(tape.gradient(loss, variables), bound)
        scale = task.gradient_scale(batch_)
        optimizer.apply([_scaled(g, scale) for g in grads], variables)
        return loss

    if arch_len is None:
        return tf.function(lambda tokens: body(tokens, model), input_signature=[tokens_spec])
    return tf.function(
        lambda tokens, arch: body(
            tokens, lambda x, s, training: model(x, s, arch, training=training)),
        input_signature=[tokens_spec, tf.TensorSpec([arch_len], tf.int32)])


def make_head_step(vocab: int, hidden: int):
    """Embedding -> tied softmax -> CE -> SGD without a cell: the floor of every step."""
    embedding = tf.Variable(tf.random.uniform([vocab, hidden], -0.04, 0.04))

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32)])
    def step(tokens):
        with tf.GradientTape() as tape:
            x = tf.gather(embedding, tokens[:, :-1])
            logits = tf.matmul(tf.reshape(x, [-1, hidden]), embedding, transpose_b=True)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
                tf.reshape(tokens[:, 1:], [-1]), logits))
        embedding.assign_sub(20.0 * tape.gradient(loss, embedding))
        return loss

    return step


def _timed(fn, *args):
    """(wall seconds, process CPU seconds) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn(*args).numpy()
    return time.perf_counter() - wall, time.process_time() - cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=8, help="timed steps per arch and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--bptt", type=int, default=35)
    parser.add_argument("--hidden", type=int, default=200)
    parser.add_argument("--vocab", type=int, default=10000)
    parser.add_argument("--nodes", type=int, default=9)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no_ops", action="store_true",
                        help="skip counting the ops executed per step (a logging subprocess)")
    parser.add_argument(COUNT_FLAG, action="store_true", help=argparse.SUPPRESS)
    add_load_flags(parser)
    args = parser.parse_args()
    load_start = None if args.count_nodes_only else wait_for_quiet_machine(
        args.max_wait_min, args.quiet_load)

    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    cfg = RnnConfig(num_nodes=args.nodes, embed_size=args.hidden, hidden_size=args.hidden)
    data = TextDataConfig(batch_size=args.batch, bptt=args.bptt, eval_batch_size=args.batch)
    stream = tf.constant(rng.integers(0, args.vocab, (args.batch, 4 * args.bptt)), tf.int32)
    archs = [RnnArch.random(args.nodes, args.seed + i) for i in range(args.archs)]
    arch_tensors = [tf.constant(a.to_array()) for a in archs]
    arch_len = len(archs[0].to_array())

    def window(length):
        return stream[:, :length + 1]

    child = RnnChild(args.vocab, cfg)
    child.build()
    child_task = LanguageModelTask(data, SEARCH_OPTIMIZER)
    child_task.create_state(child, args.batch)
    traces = [0]
    shared_step = make_train_step(child, child_task, args.batch, arch_len, traces)
    if args.count_nodes_only:    # one full window through the shared and the static step
        model = RnnLM(archs[0], args.vocab, cfg)
        model.build()
        task = LanguageModelTask(data, SEARCH_OPTIMIZER)
        task.create_state(model, args.batch)
        static_step = make_train_step(model, task, args.batch, None, [0])
        run_marked_steps({"shared": lambda: shared_step(window(args.bptt), arch_tensors[0]),
                          "static": lambda: static_step(window(args.bptt))})
        return
    first_step_s, first_step_cpu = _timed(shared_step, window(args.bptt), arch_tensors[0])
    for i, arch in enumerate(arch_tensors):              # warm-up: one step per arch
        shared_step(window(args.bptt - 3 + i), arch).numpy()

    statics, static_first = [], []
    for arch in archs:
        model = RnnLM(arch, args.vocab, cfg)
        model.build()
        task = LanguageModelTask(data, SEARCH_OPTIMIZER)
        task.create_state(model, args.batch)
        step = make_train_step(model, task, args.batch, None, [0])
        static_first.append(_timed(step, window(args.bptt))[0])
        step(window(args.bptt - 2)).numpy()
        statics.append(step)
    head_step = make_head_step(args.vocab, args.hidden)
    head_step(window(args.bptt)).numpy()

    rows, ratios, cpu_ratios, shared_walls, lengths_all, heads = [], [], [], [], [], []
    for rnd in range(args.rounds):
        for i, arch_tensor in enumerate(arch_tensors):
            lengths = [ptb.sample_window_length(args.bptt, rng) for _ in range(args.steps)]
            lengths_all += lengths
            runs = {}
            order = ("shared", "static") if (rnd + i) % 2 == 0 else ("static", "shared")
            for name in order:
                if name == "shared":
                    times = [_timed(shared_step, window(n), arch_tensor) for n in lengths]
                    shared_walls += [t[0] for t in times]
                else:
                    times = [_timed(statics[i], window(n)) for n in lengths]
                runs[name] = (statistics.median(t[0] for t in times),
                              statistics.median(t[1] for t in times))
            heads.append(statistics.median(_timed(head_step, window(n))[0] for n in lengths[:3]))
            ratios.append(runs["shared"][0] / runs["static"][0])
            cpu_ratios.append(runs["shared"][1] / runs["static"][1])
            rows.append((rnd, i, min(lengths), max(lengths), runs["shared"], runs["static"],
                         ratios[-1], cpu_ratios[-1], os.getloadavg()[0]))

    # Ops executed per step (arch 0), in a subprocess after the timing. The time loop makes the
    # count depend on the window length, so both models run the same full window.
    ops = None if args.no_ops else count_node_visits(os.path.abspath(__file__), [
        f"--{k}={v}" for k, v in vars(args).items()
        if k in ("batch", "bptt", "hidden", "vocab", "nodes", "seed")])
    step_s = statistics.median(shared_walls)
    tokens_per_s = args.batch * float(np.mean(lengths_all)) / step_s
    print(f"{'round':>5} {'arch':>4} {'T':>7} {'shared_s':>9} {'static_s':>9} {'ratio':>6} "
          f"{'shared_cpu':>10} {'static_cpu':>10} {'cpu_ratio':>9} {'load':>5}")
    for rnd, i, lo, hi, shared, static, ratio, cpu_ratio, load in rows:
        print(f"{rnd:>5} {i:>4} {f'{lo}-{hi}':>7} {shared[0]:>9.3f} {static[0]:>9.3f} "
              f"{ratio:>6.2f} {shared[1]:>10.3f} {static[1]:>10.3f} {cpu_ratio:>9.2f} "
              f"{load:>5.1f}")
    print(f"median ratio: wall {statistics.median(ratios):.3f}, "
          f"cpu {statistics.median(cpu_ratios):.3f}")
    print(f"shared: step {step_s:.3f} s median ({tokens_per_s:.0f} tok/s over "
          f"{len(shared_walls)} steps, window lengths {min(lengths_all)}-{max(lengths_all)}), "
          f"first step {first_step_s:.1f} s ({first_step_cpu:.1f} CPU-s), traces {traces[0]} "
          f"for {len(archs)} archs, {len(child.trainable_variables)} variables")
    print(f"static: first step median {statistics.median(static_first):.1f} s; "
          f"head only (no cell): {statistics.median(heads):.3f} s")
    if ops is not None:
        print(ops_line(ops) + f" (T = {args.bptt})")
    print(f"load average at end: {load_text()}")
    result = {"ratio_median": round(statistics.median(ratios), 3),
              "cpu_ratio_median": round(statistics.median(cpu_ratios), 3),
              "traces": traces[0], "step_s": round(step_s, 3),
              "tokens_per_s": round(tokens_per_s), "first_step_s": round(first_step_s, 1),
              "head_only_s": round(statistics.median(heads), 3),
              "load_start": load_start,
              **ops_keys(ops)}
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
