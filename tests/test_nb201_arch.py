"""The nb201 cell: the benchmark's strings in and out, the controller's array, the table's index."""

import csv

import numpy as np
import pytest

from enas_tf2.errors import EnasError
from enas_tf2.search_space.nb201 import ops
from enas_tf2.search_space.nb201.arch import Nb201Arch

EXAMPLE = ("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
           "skip_connect~2|")


def test_example_string_means_what_the_benchmark_says():
    arch = Nb201Arch.from_tokens(EXAMPLE)
    assert arch.op_of(1, 0) == ops.NOR_CONV_3X3
    assert arch.op_of(2, 0) == ops.NOR_CONV_3X3 and arch.op_of(2, 1) == ops.AVG_POOL_3X3
    assert [arch.op_of(3, i) for i in range(3)] == [ops.SKIP_CONNECT, ops.NOR_CONV_3X3,
                                                   ops.SKIP_CONNECT]
    assert arch.tokens() == EXAMPLE
    assert arch.to_array().tolist() == [3, 3, 4, 1, 3, 1]
    assert arch.histogram() == {"none": 0, "skip_connect": 2, "nor_conv_1x1": 0,
                                "nor_conv_3x3": 3, "avg_pool_3x3": 1}
    assert "node 3: skip_connect(node 0) + nor_conv_3x3(node 1) + skip_connect(node 2)" \
        in arch.describe()


def test_every_cell_round_trips_through_string_array_and_json():
    seen = set()
    for arch in Nb201Arch.all_archs():
        text = arch.tokens()
        assert Nb201Arch.from_tokens(text) == arch
        assert Nb201Arch.from_array(arch.to_array()) == arch
        assert Nb201Arch.from_json(arch.to_json()) == arch
        seen.add(text)
    assert len(seen) == ops.NUM_ARCHS == 15625


def test_table_strings_and_indices_round_trip_for_all_cells(nb201_table_path):
    from enas_tf2.ranking.nb201_table import Nb201Table
    table = Nb201Table(str(nb201_table_path))
    with open(nb201_table_path) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 15625
    for row in rows:
        arch = Nb201Arch.from_tokens(row["arch"])
        assert arch.tokens() == row["arch"]                 # the benchmark's own string out
        assert table.index(arch) == int(row["index"])        # the table's index, not a formula
        assert table.arch_at(int(row["index"])) == arch
        assert table.accuracy(arch) == float(row["cifar10_test_acc"])


@pytest.mark.parametrize("text, words", [
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|", "node groups"),
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
     "node 2 must have 2"),
    (EXAMPLE.replace("avg_pool_3x3~1", "max_pool_3x3~1"), "unknown nb201 op 'max_pool_3x3'"),
    (EXAMPLE.replace("skip_connect~2", "skip_connect~3"), "node 3 can only read nodes 0..2"),
    (EXAMPLE.replace("skip_connect~2", "skip_connect~0"), "reads node 0 twice"),
    (EXAMPLE.replace("avg_pool_3x3~1", "avg_pool_3x3"), "must be op~source"),
])
def test_bad_strings_name_the_problem(text, words):
    with pytest.raises(EnasError, match=words):
        Nb201Arch.from_tokens(text)


def test_bad_arrays_and_json_are_refused():
    with pytest.raises(EnasError, match="shape"):
        Nb201Arch.from_array(np.zeros([2, 3], np.int32))
    with pytest.raises(EnasError, match="edge 2"):
        Nb201Arch.from_array(np.array([0, 0, 5, 0, 0, 0]))
    with pytest.raises(EnasError, match="not 'nb201'"):
        Nb201Arch.from_json({"search_space": "micro", "tokens": EXAMPLE})


def test_random_cells_are_uniform_over_ops():
    counts = np.zeros(ops.NUM_OPS)
    for seed in range(400):
        for op in Nb201Arch.random(seed).ops:
            counts[op] += 1
    assert counts.min() > 0.8 * counts.mean() and counts.max() < 1.2 * counts.mean()
