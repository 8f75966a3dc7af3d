"""The ``enas_plus`` recipe (configs/enas_plus.py, issue 21): advantage normalisation, the
uniform warm-up, the per-cell batch-norm statistics of the shared child, and the recipe beating
random search on the real NAS-Bench-201 table in oracle mode."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from planted_search import replace, tiny_config, tiny_loop
from enas_tf2.configs.base import ControllerConfig
from enas_tf2.configs.presets import get_preset
from enas_tf2.controller import reinforce
from enas_tf2.data.specs import ImageSpec
from enas_tf2.search_space.nb201.arch import Nb201Arch
from enas_tf2.search_space.registry import get_space


def _advantages(rewards, cfg, passes=1):
    """Feeds `rewards` through `advantage_step` `passes` times; the advantages of the last pass."""
    baseline, variance, count, out = 0.0, 0.0, 0, []
    for _ in range(passes):
        out = []
        for r in rewards:
            adv, baseline, variance = reinforce.advantage_step(r, baseline, variance, count, cfg)
            count += 1
            out.append(float(adv))
    return np.array(out)


def test_advantage_normalisation_gives_zero_mean_unit_scale_advantages():
    """A fixed batch of accuracy-like rewards (0.90 +- 0.01): normalised advantages have mean
    ~0 and std ~1; the paper's raw ones are ~100 times smaller."""
    rewards = np.random.default_rng(0).normal(0.90, 0.01, 200).astype(np.float32)
    plus = ControllerConfig(adv_norm=True, bl_dec=0.9)
    adv = _advantages(rewards, plus, passes=3)
    assert abs(adv.mean()) < 0.15, adv.mean()
    assert 0.8 < adv.std() < 1.25, adv.std()
    raw = _advantages(rewards, dataclasses.replace(plus, adv_norm=False), passes=3)
    assert raw.std() < 0.02, raw.std()


def test_advantage_normalisation_first_sample_sets_the_baseline():
    cfg = ControllerConfig(adv_norm=True, bl_dec=0.9)
    adv, baseline, variance = reinforce.advantage_step(0.93, 0.0, 0.0, 0, cfg)
    assert float(adv) == 0.0 and float(baseline) == pytest.approx(0.93)
    assert float(variance) == 0.0
    # The second sample: baseline 0.93 - 0.1 * (0.93 - 0.91) = 0.928; the bias-corrected
    # variance is the squared deviation itself, so the advantage is exactly -1.
    adv, baseline, variance = reinforce.advantage_step(0.91, baseline, variance, 1, cfg)
    assert float(baseline) == pytest.approx(0.928, abs=1e-6)
    assert float(adv) == pytest.approx(-1.0, abs=1e-3)
    # Off (the paper): R - b with the updated baseline, from b = 0.
    adv, baseline, _ = reinforce.advantage_step(0.93, 0.0, 0.0, 0, ControllerConfig(bl_dec=0.9))
    assert float(baseline) == pytest.approx(0.093) and float(adv) == pytest.approx(0.837)


def test_warmup_trains_no_controller_weights_then_the_controller_starts(tmp_path):
    """Warm-up epoch 1 trains the shared weights on uniformly random archs (the host-drawn
    loop) and leaves the controller untouched; epoch 2 runs the usual controller phase."""
    cfg = replace(tiny_config(str(tmp_path / "run"), num_epochs=1), "controller",
                  warmup_epochs=1)
    loop = tiny_loop(cfg)
    st = loop.state
    before = [v.numpy() for v in st.controller.trainable_variables]
    kernel = st.child.kernel.numpy()
    loop.run()
    assert int(st.controller_samples.numpy()) == 0
    assert int(st.controller_optimizer.iterations.numpy()) == 0
    for a, b in zip(before, st.controller.trainable_variables):
        np.testing.assert_array_equal(a, b.numpy())
    assert st.steps.train_loop.experimental_get_tracing_count() == 0
    assert not np.array_equal(kernel, st.child.kernel.numpy())     # the child did train
    cfg2 = replace(replace(cfg, "run", num_epochs=2), "controller", warmup_epochs=1,
                   adv_norm=True)
    loop2 = tiny_loop(cfg2)          # resumes after epoch 1: epoch 2 is past the warm-up
    loop2.run()
    assert int(loop2.state.controller_samples.numpy()) == 6
    assert int(loop2.state.controller_optimizer.iterations.numpy()) == 3
    # adv_norm in the real loop: 6 samples seen, a running variance, a baseline off 0.
    variance, seen = loop2.state.advantage_state.numpy()
    assert seen == 6 and variance >= 0.0 and float(loop2.state.baseline.numpy()) > 0.0


def test_shared_child_scores_each_cell_with_its_own_batch_statistics():
    """BN of the weight-shared child normalises with the statistics of the scoring batch under
    the sampled cell (no moving averages carried between cells): a cell's logits do not depend
    on which cells ran before, so recalibrating BN per cell before scoring is built in."""
    space = get_space("nb201", get_preset("cifar10_nb201_search.smoke").space_config)
    child = space.build_child(ImageSpec(16, 16, 10))
    rng = np.random.default_rng(0)
    images = tf.constant(rng.normal(size=(20, 16, 16, 3)), tf.float32)
    cell = tf.constant(Nb201Arch.random(1).to_array())
    first = child(images, arch=cell, training=False).numpy()
    for seed in range(5):          # other cells on other batches in between
        other = tf.constant(rng.normal(2.0, 3.0, size=(20, 16, 16, 3)), tf.float32)
        child(other, arch=tf.constant(Nb201Arch.random(100 + seed).to_array()), training=True)
    np.testing.assert_allclose(child(images, arch=cell, training=False).numpy(), first,
                               rtol=1e-5, atol=1e-5)
    assert not any("moving" in v.name for v in child.variables)


def test_plus_controller_beats_random_in_oracle_mode_on_the_real_table(nb201_table_path):
    """The enas_plus controller with the table as reward (oracle mode) against uniformly random
    cells on the same seeds 0, 1, 2: better best-of-100 and best-of-500 on average, and far
    better samples late in the run."""
    from enas_tf2.ranking.nb201_table import Nb201Table
    from enas_tf2.ranking.oracle import OracleSearch
    table = Nb201Table(str(nb201_table_path))
    plus = get_preset("cifar10_nb201_search_plus").controller
    runs = {name: [OracleSearch(table, strategy, 500, seed, ccfg).run() for seed in range(3)]
            for name, strategy, ccfg in (("plus", "oracle", plus),
                                         ("random", "oracle_random", None))}

    def mean_top1(name, k):
        return np.mean([r["top1_at"][str(k)] for r in runs[name]])

    assert mean_top1("plus", 100) >= 94.0 > mean_top1("random", 100)
    assert mean_top1("plus", 500) >= 94.25 > mean_top1("random", 500)
    late = {name: np.mean([np.mean([s["true_acc"] for s in r["samples"][-100:]])
                           for r in runs[name]]) for name in runs}
    assert late["plus"] > late["random"] + 5.0, late
