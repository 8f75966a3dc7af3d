"""The typed RNN cell: both published encodings (docs/enas_reference.md §7), round trips, malformed strings."""

import json

import numpy as np
import pytest

from enas_tf2.errors import EnasError
from enas_tf2.search_space.rnn import functions
from enas_tf2.search_space.rnn.arch import RnnArch, RnnNode

# docs/enas_reference.md §7, verbatim.
ENAS_LM_PUBLISHED = "0 2 1 0 2 1 2 2 4 0 5 0 3 2 6 2"
ORIGINAL_PUBLISHED = "0 0 0 1 1 2 1 2 0 2 0 5 1 1 0 6 1 8 1 8 1 8 1"


def _error(fn, *args, **kwargs) -> str:
    with pytest.raises(EnasError) as info:
        fn(*args, **kwargs)
    return str(info.value)


def test_enas_lm_published_cell_decodes_as_the_spec():
    arch = RnnArch.from_tokens(ENAS_LM_PUBLISHED)
    assert arch.cell_variant == "enas_lm" and arch.num_nodes == 8
    # "n1<-n0 sigmoid, n2<-n1 tanh, n3<-n2 ReLU, n4<-n2 sigmoid, n5<-n4 tanh, n6<-n5 tanh,
    #  n7<-n3 sigmoid, n8<-n6 sigmoid; output = mean n1..n8"
    spec = [(0, "sigmoid"), (1, "tanh"), (2, "relu"), (2, "sigmoid"), (4, "tanh"), (5, "tanh"),
            (3, "sigmoid"), (6, "sigmoid")]
    assert [(n.prev, functions.NAMES[a]) for n, a in zip(arch.nodes, arch.activations())] == spec
    assert arch.output_nodes() == tuple(range(1, 9))
    lines = arch.describe().splitlines()
    assert lines[1] == "  n0 = tanh highway(x_t, s_t-1)"
    assert lines[2] == "  n1 = sigmoid highway(n0)"
    assert lines[-1] == "  output = mean(n1, n2, n3, n4, n5, n6, n7, n8)"
    assert arch.histogram() == {"tanh": 3, "relu": 1, "sigmoid": 4, "identity": 0}


def test_original_published_cell_decodes_as_the_spec():
    arch = RnnArch.from_tokens(ORIGINAL_PUBLISHED)
    assert arch.cell_variant == "original" and arch.num_nodes == 11     # D = 12
    assert len(ORIGINAL_PUBLISHED.split()) == 2 * 12 - 1               # §11 check 2
    # "n0 tanh; n1<-n0 tanh; n2<-n1 ReLU; n3<-n2 ReLU; n4<-n2 tanh; n5<-n2 tanh; n6<-n5 ReLU;
    #  n7<-n1 tanh; n8<-n6 ReLU; n9<-n8 ReLU; n10<-n8 ReLU; n11<-n8 ReLU"
    spec = [(0, "tanh"), (1, "relu"), (2, "relu"), (2, "tanh"), (2, "tanh"), (5, "relu"),
            (1, "tanh"), (6, "relu"), (8, "relu"), (8, "relu"), (8, "relu")]
    assert functions.NAMES[arch.node0_activation()] == "tanh"
    assert [(n.prev, functions.NAMES[a]) for n, a in zip(arch.nodes, arch.activations())] == spec
    assert arch.output_nodes() == (3, 4, 7, 9, 10, 11)                 # "loose ends"
    assert arch.describe().splitlines()[-1] == "  output = mean(n3, n4, n7, n9, n10, n11)"
    assert arch.histogram() == {"tanh": 5, "relu": 7, "sigmoid": 0, "identity": 0}


def test_original_function_ids_swap_identity_and_sigmoid():
    original = RnnArch.from_tokens("3 0 2 1 3")       # f0 sigmoid; n1 identity; n2 sigmoid
    assert [functions.NAMES[a] for a in (original.node0_activation(),) + original.activations()] \
        == ["sigmoid", "identity", "sigmoid"]
    assert original.output_nodes() == (2,)             # n0, n1 are read: only n2 is loose
    enas_lm = RnnArch.from_tokens("0 2 1 3")
    assert [functions.NAMES[a] for a in enas_lm.activations()] == ["sigmoid", "identity"]


@pytest.mark.parametrize("text", [ENAS_LM_PUBLISHED, ORIGINAL_PUBLISHED])
def test_round_trips(text):
    arch = RnnArch.from_tokens(text)
    assert arch.tokens() == text
    assert RnnArch.from_array(arch.to_array(), arch.cell_variant) == arch
    assert arch.to_array().dtype == np.int32 and arch.to_array().tolist() == \
        [int(t) for t in text.split()]
    obj = json.loads(json.dumps(arch.to_json()))
    assert obj["search_space"] == "rnn" and obj["cell_variant"] == arch.cell_variant
    assert RnnArch.from_json(obj) == arch
    assert RnnArch.from_tokens(text.replace(" ", ",")) == arch
    assert hash(arch) == hash(RnnArch.from_tokens(text))


def test_malformed_strings_name_node_and_position():
    assert "token 3 (node 2, prev) is 2 but must be in [0, 1]" in _error(
        RnnArch.from_tokens, "0 1 2 1")
    assert "token 2 (node 1, func) is 4 but must be in [0, 3]" in _error(
        RnnArch.from_tokens, "0 4 0 1")
    assert "token 4 (node 2, func) is 'x'" in _error(RnnArch.from_tokens, "0 1 0 x")
    # Original encoding: token 1 is node 0's function, node k's pair starts at token 2k.
    assert "token 1 (node 0, func) is 7" in _error(RnnArch.from_tokens, "7 0 1")
    assert "token 4 (node 2, prev) is 5 but must be in [0, 1]" in _error(
        RnnArch.from_tokens, "0 0 1 5 1")
    assert "token 2 (node 1, prev) is -1" in _error(RnnArch.from_tokens, "0 -1 1")
    assert "has 3 tokens but expected (prev, func) per node: 2K" in _error(
        RnnArch.from_tokens, "0 1 0", cell_variant="enas_lm")
    assert "has 0 tokens" in _error(RnnArch.from_tokens, "  ")
    assert "unknown RNN cell variant 'lstm'" in _error(RnnArch.from_tokens, "0 1", "lstm")
    assert "node 0 of an enas_lm cell is always tanh" in _error(
        RnnArch, nodes=((0, 1),), cell_variant="enas_lm", node0_func=2)
    assert "must be 1-D" in _error(RnnArch.from_array, np.zeros((2, 2), np.int32))
    assert "must hold integers" in _error(RnnArch.from_array, np.zeros(4, np.float32))
    assert "token 1 (node 1, prev) is True" in _error(RnnArch.from_tokens, [True, 1])


def test_json_refusals():
    assert "search space 'micro'" in _error(RnnArch.from_json, {"search_space": "micro"})
    assert "no 'tokens'" in _error(RnnArch.from_json, {"search_space": "rnn"})
    bad = RnnArch.from_tokens(ENAS_LM_PUBLISHED).to_json()
    bad["nodes"][0] = [0, 1]
    assert "inconsistent" in _error(RnnArch.from_json, bad)
    assert "must be an object" in _error(RnnArch.from_json, ["not", "a", "dict"])


def test_random_is_valid_and_uniform_per_token():
    counts_prev, counts_func = np.zeros(4), np.zeros(4)
    for seed in range(2000):
        arch = RnnArch.random(4, seed=seed)
        assert arch.num_nodes == 4 and arch.node0_func == 0
        counts_prev[arch.nodes[3].prev] += 1          # node 4 reads one of n0..n3
        counts_func[arch.nodes[0].func] += 1
    # Each of 4 equally likely outcomes has probability 1/4: 500 +- 5 sigma (sigma ~ 19).
    assert np.all(np.abs(counts_prev - 500) < 100) and np.all(np.abs(counts_func - 500) < 100)
    original = RnnArch.random(11, seed=3, cell_variant="original")
    assert len(original.tokens().split()) == 23
    assert RnnArch.random(5, seed=7) == RnnArch.random(5, seed=7)
    assert RnnArch(nodes=(RnnNode(0, 1),)).tokens() == "0 1"
