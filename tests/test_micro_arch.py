"""The typed micro architecture: published arch (docs/enas_reference.md §7), round trips, validation, sampling."""

import json

import numpy as np
import pytest

from enas_tf2.errors import EnasError
from enas_tf2.search_space.micro import ops
from enas_tf2.search_space.micro.arch import MicroArch, MicroNode

# docs/enas_reference.md §7, `cifar10_micro_final.sh`, verbatim.
PUBLISHED_NORMAL = "0 2 0 0  0 4 0 1  0 4 1 1  1 0 0 1  0 2 1 1"
PUBLISHED_REDUCE = "1 0 1 0  0 3 0 2  1 1 3 1  1 0 0 4  0 3 1 1"
PUBLISHED = PUBLISHED_NORMAL + "  " + PUBLISHED_REDUCE
# docs/enas_reference.md §7's decode, verbatim, and its abbreviations.
SPEC_NORMAL_DECODE = ("n2 = avg(n0) + sep3(n0); n3 = id(n0) + sep5(n0); n4 = id(n0) + sep5(n1); "
                      "n5 = sep3(n1) + sep5(n0); n6 = avg(n0) + sep5(n1)")
SPEC_REDUCE_DECODE = ("n2 = sep3(n1) + sep3(n1); n3 = max(n0) + avg(n0); n4 = sep5(n1) + sep5(n3); "
                      "n5 = sep3(n1) + id(n0); n6 = max(n0) + sep5(n1)")
SPEC_ABBREVIATIONS = {"sep3": "sep_conv_3x3", "sep5": "sep_conv_5x5", "avg": "avg_pool_3x3",
                      "max": "max_pool_3x3", "id": "identity"}


def _spec_lines(decode: str):
    """The spec's decode with full op names, in `describe()`'s line format."""
    lines = []
    for part in decode.split(";"):
        for short, full in SPEC_ABBREVIATIONS.items():
            part = part.replace(f" {short}(", f" {full}(")
        lines.append("  " + part.strip())
    return lines


@pytest.fixture()
def published():
    return MicroArch.from_tokens(PUBLISHED)


def _error(fn, *args, **kwargs) -> str:
    with pytest.raises(EnasError) as info:
        fn(*args, **kwargs)
    return str(info.value)


# ---- the published architecture ---------------------------------------------------------------
def test_published_arch_decodes_exactly_as_the_spec(published):
    assert published.num_cells == 5
    assert len(published.tokens().split()) == 40 == MicroArch.num_tokens_for(5)  # §11 check 2
    lines = published.describe().splitlines()
    normal_at, reduce_at = lines.index("normal cell:"), lines.index("reduction cell:")
    assert lines[normal_at + 1:normal_at + 6] == _spec_lines(SPEC_NORMAL_DECODE)
    assert lines[reduce_at + 1:reduce_at + 6] == _spec_lines(SPEC_REDUCE_DECODE)
    # "loose ends n2..n6" (normal) and "loose ends n2, n4, n5, n6" (reduction).
    assert published.loose_ends("normal") == (2, 3, 4, 5, 6)
    assert published.loose_ends("reduce") == (2, 4, 5, 6)
    assert "  output = concat(n2, n4, n5, n6)" in lines[reduce_at:]


def test_published_arch_fields_and_op_counts(published):
    assert published.normal[0] == MicroNode(index_1=0, op_1=2, index_2=0, op_2=0)
    assert published.reduce[2] == MicroNode(index_1=1, op_1=1, index_2=3, op_2=1)
    # Counted by hand from the token rows above.
    assert published.op_counts("normal") == {"sep_conv_3x3": 2, "sep_conv_5x5": 4,
                                             "avg_pool_3x3": 2, "max_pool_3x3": 0, "identity": 2}
    assert published.op_counts("reduce") == {"sep_conv_3x3": 3, "sep_conv_5x5": 3,
                                             "avg_pool_3x3": 1, "max_pool_3x3": 2, "identity": 1}
    assert published.op_counts() == {"sep_conv_3x3": 5, "sep_conv_5x5": 7, "avg_pool_3x3": 3,
                                     "max_pool_3x3": 2, "identity": 3}


# ---- round trips ------------------------------------------------------------------------------
def test_tokens_round_trip_in_every_input_form(published):
    canonical = " ".join(PUBLISHED.split())
    assert published.tokens() == canonical == str(published)
    assert MicroArch.from_tokens(canonical) == published
    assert MicroArch.from_tokens(", ".join(canonical.split())) == published
    assert MicroArch.from_tokens(PUBLISHED_NORMAL + "\n" + PUBLISHED_REDUCE + "\n") == published
    assert MicroArch.from_tokens([int(t) for t in canonical.split()]) == published
    assert MicroArch.from_tokens(canonical.split(), num_cells=5) == published
    assert MicroArch.from_tokens(np.array(canonical.split(), dtype=np.int64)) == published
    assert len({published, MicroArch.from_tokens(canonical)}) == 1  # hashable, equal


def test_array_layout_and_round_trip(published):
    array = published.to_array()
    assert array.dtype == np.int32 and array.shape == (2, 5, 4)
    np.testing.assert_array_equal(array[0, 0], [0, 2, 0, 0])     # normal n2: idx1 op1 idx2 op2
    np.testing.assert_array_equal(array[1, 2], [1, 1, 3, 1])     # reduce n4
    assert " ".join(str(v) for v in array.reshape(-1)) == published.tokens()
    assert MicroArch.from_array(array) == published
    assert MicroArch.from_array(array.astype(np.int64)) == published


def test_json_round_trip(published):
    obj = published.to_json()
    assert obj["search_space"] == "micro"
    assert obj["tokens"] == published.tokens()
    assert obj["normal"][3] == [1, 0, 0, 1] and obj["reduce"][4] == [0, 3, 1, 1]
    text = json.dumps(obj)
    assert MicroArch.from_json(json.loads(text)) == published
    assert MicroArch.from_json({"search_space": "micro", "tokens": published.tokens()}) == published
    cells_only = {k: v for k, v in obj.items() if k != "tokens"}
    assert MicroArch.from_json(cells_only) == published


# ---- validation -------------------------------------------------------------------------------
def test_index_out_of_range_names_the_token():
    tokens = PUBLISHED.split()
    tokens[6] = "5"   # token 7 = node 3 of the normal cell, index_2; node 3 may read 0..2
    assert _error(MicroArch.from_tokens, " ".join(tokens)) == (
        "token 7 (node 3 of the normal cell, index_2) is 5 but must be in [0, 2]")
    tokens = PUBLISHED.split()
    tokens[20] = "2"  # token 21 = node 2 of the reduction cell, index_1; may read 0..1
    assert _error(MicroArch.from_tokens, " ".join(tokens)) == (
        "token 21 (node 2 of the reduction cell, index_1) is 2 but must be in [0, 1]")
    tokens = PUBLISHED.split()
    tokens[0] = "-1"
    assert _error(MicroArch.from_tokens, tokens) == (
        "token 1 (node 2 of the normal cell, index_1) is -1 but must be in [0, 1]")


def test_op_out_of_range_names_the_token():
    tokens = PUBLISHED.split()
    tokens[39] = "5"
    assert _error(MicroArch.from_tokens, tokens) == (
        "token 40 (node 6 of the reduction cell, op_2) is 5 but must be in [0, 4]")


def test_non_integers_are_named():
    tokens = PUBLISHED.split()
    tokens[2] = "x"
    assert _error(MicroArch.from_tokens, " ".join(tokens)) == (
        "token 3 (node 2 of the normal cell, index_2) is 'x' but must be an integer")
    values = [int(t) for t in PUBLISHED.split()]
    values[5] = 1.5
    assert "token 6 (node 3 of the normal cell, op_1) is 1.5 but must be an integer" == _error(
        MicroArch.from_tokens, values)
    values[5] = True
    assert "is True but must be an integer" in _error(MicroArch.from_tokens, values)


def test_wrong_length_says_what_was_expected():
    tokens = PUBLISHED.split()
    msg = _error(MicroArch.from_tokens, tokens[:-1], num_cells=5)
    assert msg.startswith("the micro architecture has 39 tokens but expected 8 * num_cells = 40")
    msg = _error(MicroArch.from_tokens, tokens[:-1])
    assert msg.startswith("the micro architecture has 39 tokens but expected 8 * num_cells")
    assert "has 0 tokens" in _error(MicroArch.from_tokens, "  ")
    assert "has 40 tokens but expected 8 * num_cells = 48" in _error(
        MicroArch.from_tokens, tokens, num_cells=6)
    assert "num_cells must be an integer >= 1, got 0" in _error(
        MicroArch.from_tokens, tokens, num_cells=0)


def test_direct_construction_is_validated():
    node = MicroNode(0, 0, 1, 4)
    assert "normal cell has 2 nodes and the reduction cell 1" in _error(
        MicroArch, normal=(node, node), reduce=(node,))
    assert "must have 4 integers" in _error(MicroArch, normal=((0, 0, 1),), reduce=(node,))
    arch = MicroArch(normal=[[0, 0, 1, 4]], reduce=[(1, 3, "0", 2)])   # lists/strings normalised
    assert arch.reduce == (MicroNode(1, 3, 0, 2),) and arch.tokens() == "0 0 1 4 1 3 0 2"


def test_bad_arrays_and_json_are_refused(published):
    assert "shape [2, num_cells, 4], got [2, 5]" in _error(
        MicroArch.from_array, published.to_array()[:, :, 0])
    assert "must hold integers, got float32" in _error(
        MicroArch.from_array, published.to_array().astype(np.float32))
    obj = published.to_json()
    assert "search space 'macro', not 'micro'" in _error(
        MicroArch.from_json, {**obj, "search_space": "macro"})
    assert "search space None" in _error(MicroArch.from_json, {"tokens": published.tokens()})
    other = MicroArch.random(5, seed=3).tokens()
    assert "inconsistent" in _error(MicroArch.from_json, {**obj, "tokens": other})
    assert "neither 'tokens' nor 'normal'/'reduce'" in _error(
        MicroArch.from_json, {"search_space": "micro"})
    assert "must be an object" in _error(MicroArch.from_json, ["not", "a", "dict"])
    assert "unknown cell 'reduction'" in _error(published.loose_ends, "reduction")


# ---- uniform random architectures -------------------------------------------------------------
def test_random_archs_are_valid_seeded_and_cover_the_space():
    assert MicroArch.random(5, seed=7) == MicroArch.random(5, seed=7)
    assert MicroArch.random(5, seed=7) != MicroArch.random(5, seed=8)
    archs = [MicroArch.random(5, seed=s) for s in range(200)]
    arrays = np.stack([a.to_array() for a in archs])                   # [200, 2, 5, 4]
    for a in archs[:20]:
        assert MicroArch.from_tokens(a.tokens()) == a                  # re-validates
    for node in range(5):
        indices = arrays[:, :, node, [0, 2]].reshape(-1)
        assert set(indices.tolist()) == set(range(node + 2))           # every legal input
    op_tokens = arrays[:, :, :, [1, 3]].reshape(-1)                    # 4000 draws
    counts = np.bincount(op_tokens, minlength=ops.NUM_OPS)
    # Uniform: 800 expected per op, binomial sd ~25; +-100 is 4 sd.
    assert counts.shape == (5,) and np.all(np.abs(counts - 800) < 100), counts
    last = arrays[:, :, 4, [0, 2]].reshape(-1)                         # node 6 reads 0..5
    assert np.all(np.abs(np.bincount(last, minlength=6) - len(last) / 6) < 4 * np.sqrt(
        len(last) * (1 / 6) * (5 / 6))), np.bincount(last)
    assert "num_cells must be an integer >= 1" in _error(MicroArch.random, 0, seed=1)


def test_op_table():
    assert ops.OP_NAMES == ("sep_conv_3x3", "sep_conv_5x5", "avg_pool_3x3", "max_pool_3x3",
                            "identity")
    assert [ops.op_id(n) for n in ops.OP_NAMES] == [0, 1, 2, 3, 4]
    assert ops.op_name(ops.MAX_POOL_3X3) == "max_pool_3x3"
    assert "unknown micro op id 5" in _error(ops.op_name, 5)
    assert "unknown micro op 'conv'" in _error(ops.op_id, "conv")
