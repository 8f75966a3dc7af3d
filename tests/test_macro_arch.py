"""MacroArch: the published arch (docs/enas_reference.md §7), round trips, validation."""

import numpy as np
import pytest

from enas_tf2.errors import EnasError
from enas_tf2.search_space.macro import ops
from enas_tf2.search_space.macro.arch import MacroArch, MacroLayer, num_tokens_for, pool_layers
from enas_tf2.search_space.macro.config import MacroConfig

# docs/enas_reference.md §7 (`cifar10_macro_final.sh`), verbatim: row i = op, then i skip bits.
PUBLISHED_ROWS = """
0
3 0
0 1 0
2 0 0 1
2 0 0 0 0
3 1 1 0 1 0
2 0 0 0 0 0 1
2 0 1 1 0 1 1 1
1 0 1 1 1 0 1 0 1
0 0 0 0 0 0 0 0 0 0
2 0 0 0 0 0 1 0 0 0 0
0 1 0 0 1 1 0 0 0 0 1 1
2 0 1 0 0 0 0 0 1 0 1 1 0
1 0 0 1 0 0 0 1 1 1 0 1 0 1
0 1 1 0 1 0 1 0 0 0 0 0 1 0 0
2 0 0 1 0 0 0 0 0 0 0 1 0 1 0 1
2 0 1 0 0 0 1 0 0 1 1 1 1 0 0 1 0
2 0 0 0 0 1 0 1 0 1 0 0 1 0 1 0 0 1
3 0 1 1 0 1 0 0 0 0 0 1 0 1 0 1 0 0 0
3 0 1 1 0 0 0 0 0 0 0 0 0 1 1 0 0 0 0 1
0 1 0 0 1 0 1 1 0 0 0 1 0 0 0 0 0 1 1 0 0
3 0 1 0 1 1 0 0 1 0 1 1 0 1 1 0 1 0 0 1 0 0
0 1 0 1 0 1 0 0 0 0 0 0 0 0 1 0 1 0 0 1 0 0 0
0 1 1 0 0 0 1 1 1 0 1 0 0 0 1 0 1 0 0 1 1 0 0 0
"""
PUBLISHED_LINE = " ".join(PUBLISHED_ROWS.split())


def _error(fn, *args, **kwargs) -> str:
    with pytest.raises(EnasError) as info:
        fn(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.fixture()
def published():
    return MacroArch.from_tokens(PUBLISHED_ROWS)


# ---- the published architecture ---------------------------------------------------------------
def test_published_arch_parses_exactly(published):
    assert published.num_layers == 24
    assert len(published.tokens().split()) == 300 == num_tokens_for(24)   # §11 check 2
    assert num_tokens_for(12) == 78
    # "98 of 276 possible skips are on (rate 0.355). No pooling ops (4/5) appear."
    assert published.skip_count() == 98
    assert published.skip_rate() == pytest.approx(98 / 276)
    assert round(published.skip_rate(), 3) == 0.355
    # Op counts, by hand from the first column of the rows above.
    assert published.histogram() == {"conv_3x3": 8, "sep_conv_3x3": 2, "conv_5x5": 9,
                                      "sep_conv_5x5": 5, "avg_pool_3x3": 0, "max_pool_3x3": 0,
                                      "skip": 98}
    assert published.layers[3] == MacroLayer(op=2, skips=(0, 0, 1))
    # Layer 3's bit 2 is prev[2] = the output of layer 1 (bit 0 would be the stem).
    assert published.skip_inputs(3) == (2,)
    assert published.skip_inputs(5) == (0, 1, 3)
    assert published.pool_layers == (7, 15)


def test_one_line_and_rows_give_the_same_arch(published):
    assert MacroArch.from_tokens(PUBLISHED_LINE) == published
    assert MacroArch.from_tokens(", ".join(PUBLISHED_LINE.split())) == published
    assert published.tokens() == PUBLISHED_LINE == str(published)
    assert published.rows() == PUBLISHED_ROWS.strip()
    assert hash(MacroArch.from_tokens(PUBLISHED_LINE)) == hash(published)


def test_describe_names_ops_inputs_skips_and_pool_layers(published):
    lines = published.describe().splitlines()
    assert lines[0] == "layer  0: conv_3x3      input stem"
    assert lines[5] == ("layer  5: sep_conv_5x5  input layer 4; skips from stem, layer 0, "
                        "layer 2")
    assert lines[9] == "layer  9: conv_3x3      input layer 8; skips from none"
    assert lines[7].endswith("then every output is halved (factorized reduction)")
    assert lines[-1] == "98 skips of 276 possible (rate 0.355)"


# ---- round trips ------------------------------------------------------------------------------
def test_array_layout_and_round_trip(published):
    array = published.to_array()
    assert array.dtype == np.int32 and array.shape == (24, 24)
    np.testing.assert_array_equal(array[0], [0] + [0] * 23)
    np.testing.assert_array_equal(array[3, :5], [2, 0, 0, 1, 0])
    rows = [list(map(int, r.split())) for r in PUBLISHED_ROWS.strip().splitlines()]
    for i, row in enumerate(rows):
        np.testing.assert_array_equal(array[i, :i + 1], row)
        assert not array[i, i + 1:].any()
    assert MacroArch.from_array(array) == published


def test_json_round_trip_and_refusals(published):
    obj = published.to_json()
    assert obj["search_space"] == "macro"
    assert obj["layers"][2] == [0, 1, 0]
    assert MacroArch.from_json(obj) == published
    assert MacroArch.from_json({"search_space": "macro", "tokens": PUBLISHED_LINE}) == published
    assert "micro" in _error(MacroArch.from_json, {"search_space": "micro", "tokens": "0"})
    bad = dict(obj, tokens="1")
    assert "inconsistent" in _error(MacroArch.from_json, bad)
    assert "neither" in _error(MacroArch.from_json, {"search_space": "macro"})


# ---- malformed input --------------------------------------------------------------------------
@pytest.mark.parametrize("text,message", [
    # 78 tokens (12 layers); token 17 is layer 5's first skip bit (layer 5 starts at token 16).
    (" ".join(["0"] * 16 + ["3"] + ["0"] * 61),
     "token 17 (layer 5, skip bit 0) is 3 but must be 0 or 1"),
    ("0 1 0 6 0 1", "token 4 (layer 2, op) is 6 but must be an op id in [0, 5]"),
    ("0 1 x 1 0 1", "token 3 (layer 1, skip bit 0) is 'x' but must be an integer"),
    ("0 1 0 -1 0 1", "token 4 (layer 2, op) is -1 but must be an op id in [0, 5]"),
    ("0 1 0 1 0", "has 5 tokens but L layers need L + L(L-1)/2"),
    ("", "has 0 tokens"),
    ("0\n1 0 1\n0 0", "line 2 has 3 tokens but layer 1 needs 2"),
])
def test_malformed_token_strings_name_the_position(text, message):
    assert message in _error(MacroArch.from_tokens, text)


def test_other_bad_constructions():
    assert "layer 2 has 1 skip bits but must have 2" in _error(
        MacroArch, (MacroLayer(0, ()), MacroLayer(1, (0,)), MacroLayer(1, (0,))))
    assert "True" in _error(MacroArch, (MacroLayer(True, ()),))
    assert "at least one layer" in _error(MacroArch, ())
    assert "shape [L, L]" in _error(MacroArch.from_array, np.zeros((3, 4), np.int32))
    padded = MacroArch.random(4, seed=0).to_array()
    padded[1, 3] = 1
    assert "row 1" in _error(MacroArch.from_array, padded)
    assert "must be a str" in _error(MacroArch.from_tokens, [0, 1, 0])


# ---- sampling ---------------------------------------------------------------------------------
def test_random_arch_is_reproducible_and_has_the_asked_skip_rate():
    a, b = MacroArch.random(12, seed=5), MacroArch.random(12, seed=5)
    assert a == b and a.num_layers == 12 and len(a.tokens().split()) == 78
    assert MacroArch.random(12, seed=6) != a
    # Many bits: the empirical rate is close to the asked probability (binomial sd ~0.006).
    archs = [MacroArch.random(24, seed=s, skip_prob=0.4) for s in range(25)]
    rate = sum(x.skip_count() for x in archs) / (25 * 276)
    assert abs(rate - 0.4) < 0.03
    ops_seen = {layer.op for x in archs for layer in x.layers}
    assert ops_seen == set(range(ops.NUM_OPS))
    assert MacroArch.random(5, seed=0, skip_prob=0.0).skip_count() == 0


def test_pool_layer_indices():
    assert pool_layers(12) == (3, 7)      # docs/enas_reference.md §1.1
    assert pool_layers(24) == (7, 15)
    assert pool_layers(2) == ()
    assert pool_layers(3) == (0, 1)


def test_config_defaults_and_refusals():
    cfg = MacroConfig()
    assert (cfg.num_layers, cfg.out_filters, cfg.keep_prob) == (12, 36, 0.9)
    assert (cfg.skip_target, cfg.skip_weight, cfg.fixed_ops) == (0.4, 0.8, "as_named")
    assert "out_filters" in _error(MacroConfig, out_filters=35)
    assert "fixed_ops" in _error(MacroConfig, fixed_ops="paper")
    assert "whole_channels" in _error(MacroConfig, whole_channels=False)
    assert "skip_target" in _error(MacroConfig, skip_target=1.0)
