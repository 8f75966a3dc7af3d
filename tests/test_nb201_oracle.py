"""Oracle mode (the table as the controller's reward) and the NASWOT zero-cost score."""

import numpy as np
import pytest
import tensorflow as tf

from enas_tf2.configs.base import ControllerConfig
from enas_tf2.errors import EnasError
from enas_tf2.ranking.naswot import naswot_score
from enas_tf2.ranking.nb201_table import Nb201Table
from enas_tf2.ranking.oracle import OracleSearch, cell_code, truth_vector
from enas_tf2.search_space.nb201.arch import Nb201Arch


@pytest.fixture(scope="module")
def table(nb201_table_path):
    return Nb201Table(str(nb201_table_path))


def test_truth_vector_is_the_table(table):
    vector = truth_vector(table)
    for seed in range(50):
        arch = Nb201Arch.random(seed)
        assert vector[cell_code(arch)] == pytest.approx(table.accuracy(arch) / 100.0)


def test_reinforce_on_the_real_table_raises_the_true_accuracy_of_its_samples(table):
    """The project's controller + REINFORCE step with the table as reward: the last samples
    are much better cells than the first, and than uniformly random ones."""
    ccfg = ControllerConfig(lstm_size=32, tanh_constant=2.5, temperature=5.0,
                            entropy_weight=1e-4, lr=0.01, num_aggregate=1, bl_dec=0.9)
    run = OracleSearch(table, "oracle", 400, seed=0, controller_config=ccfg).run()
    accs = [s["true_acc"] for s in run["samples"]]
    first, last = np.mean(accs[:50]), np.mean(accs[-50:])
    random = OracleSearch(table, "oracle_random", 400, seed=0).run()
    random_last = np.mean([s["true_acc"] for s in random["samples"]][-50:])
    assert last > first + 3.0, (first, last)
    assert last > random_last + 3.0, (random_last, last)
    # Without training (controller_training off) the same run does not improve.
    frozen = OracleSearch(table, "oracle", 400, seed=0,
                          controller_config=ControllerConfig(
                              lstm_size=32, tanh_constant=2.5, temperature=5.0, lr=0.01,
                              num_aggregate=1, training=False)).run()
    frozen_accs = [s["true_acc"] for s in frozen["samples"]]
    assert abs(np.mean(frozen_accs[-50:]) - np.mean(frozen_accs[:50])) < 3.0
    # top1_at is the best of the first k samples.
    assert run["top1_at"]["100"] == max(accs[:100])
    assert run["best"]["cifar10_test_acc"] == max(accs)


def test_oracle_errors(table):
    with pytest.raises(EnasError, match="unknown oracle strategy"):
        OracleSearch(table, "genetic")
    with pytest.raises(EnasError, match="at least 1 sample"):
        OracleSearch(table, "oracle", 0)


class _TapNet:
    """A two-ReLU toy network with known pre-activations."""

    def __init__(self, taps):
        self.taps = taps

    def relu_inputs(self, images, training=True):
        return self.taps


def test_naswot_score_is_logdet_of_the_hamming_kernel():
    """K_H = N_A - Hamming(c_i, c_j) over all ReLU units, score = log|det K_H|, computed here
    from the binary codes directly."""
    rng = np.random.default_rng(0)
    taps = [tf.constant(rng.normal(size=(5, 3, 3, 2)), tf.float32),
            tf.constant(rng.normal(size=(5, 7)), tf.float32)]
    codes = np.concatenate([(t.numpy() > 0).reshape(5, -1) for t in taps], axis=1)
    units = codes.shape[1]
    hamming = (codes[:, None, :] != codes[None, :, :]).sum(-1)
    expected = np.linalg.slogdet(units - hamming)[1]
    assert naswot_score(_TapNet(taps), np.zeros((5, 1, 1, 1), np.float32)) == \
        pytest.approx(expected, rel=1e-9)


def test_naswot_prefers_networks_that_separate_images():
    rng = np.random.default_rng(1)
    distinct = [tf.constant(rng.normal(size=(6, 50)), tf.float32)]
    similar = [tf.constant(np.tile(rng.normal(size=(1, 50)), (6, 1))
                           + 0.05 * rng.normal(size=(6, 50)), tf.float32)]
    images = np.zeros((6, 1, 1, 1), np.float32)
    assert naswot_score(_TapNet(distinct), images) > naswot_score(_TapNet(similar), images)


def test_naswot_api_on_real_images_keeps_the_best_score(cifar10_dir, nb201_table_path,
                                                        tmp_path):
    import json

    import enas_tf2
    from enas_tf2.search_space.nb201.config import Nb201Config
    result = enas_tf2.naswot(str(cifar10_dir), num_cells=4, seed=1, batch_size=16,
                             nb201_table=str(nb201_table_path),
                             space_config=Nb201Config(num_layers=1, out_filters=4),
                             output_dir=str(tmp_path / "nw"))
    scores = [r["score"] for r in result["rows"]]
    assert len(set(scores)) == 4 and all(np.isfinite(scores))
    best = result["rows"][int(np.argmax(scores))]
    assert result["best"]["tokens"] == best["tokens"] == result["arch"].tokens()
    table = Nb201Table(str(nb201_table_path))
    assert result["best"]["cifar10_test_acc"] == table.accuracy(result["arch"])
    written = json.loads((tmp_path / "nw" / "arch.json").read_text())
    assert written["tokens"] == best["tokens"] and "true_accuracy" in written
