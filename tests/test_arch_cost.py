"""Issue 22: each space's parameter and multiply-add arithmetic (`search_space/<space>/cost.py`)
equals the built fixed network: parameters against ``count_params`` of the network the space
builds, MACs against an independent count on its traced inference graph (`graph_macs`)."""

import pytest

from enas_tf2.cost.graph_macs import graph_macs, keras_params
from enas_tf2.data.specs import ImageSpec
from enas_tf2.search_space.registry import get_space


def _cases():
    from enas_tf2.search_space.macro.config import MacroConfig
    from enas_tf2.search_space.micro.config import MicroConfig
    from enas_tf2.search_space.nb201.config import Nb201Config
    return {
        "nb201": ("nb201", Nb201Config(num_layers=1, out_filters=8), ImageSpec(16, 14, 10)),
        "nb201_benchmark": ("nb201", Nb201Config(), ImageSpec(32, 32, 10)),
        "macro": ("macro", MacroConfig(num_layers=6, out_filters=8), ImageSpec(20, 18, 5)),
        "macro_imagenet_stem": ("macro", MacroConfig(num_layers=4, out_filters=8,
                                                     stem="imagenet"), ImageSpec(72, 66, 5)),
        "micro": ("micro", MicroConfig(num_layers=2, num_cells=3, out_filters=4,
                                       use_aux_heads=False), ImageSpec(20, 18, 3)),
        "micro_imagenet_stem": ("micro", MicroConfig(num_layers=1, num_cells=4, out_filters=6,
                                                     stem="imagenet", use_aux_heads=False),
                                ImageSpec(70, 66, 3)),
    }


@pytest.mark.parametrize("case", sorted(_cases()))
def test_params_and_macs_match_the_built_network(case):
    name, config, spec = _cases()[case]
    space = get_space(name, config)
    for seed in range(3):                      # several architectures per space
        arch = space.random_arch(seed)
        cost = space.arch_cost(arch, spec)
        net = space.build_fixed(arch, spec, total_steps=1)
        assert cost.params == keras_params(net) == net.count_params(), (case, arch.tokens())
        assert cost.macs == graph_macs(net, spec.height, spec.width), (case, arch.tokens())


def test_macro_original_fixed_ops_count_regular_convolutions():
    from enas_tf2.search_space.macro.config import MacroConfig
    spec = ImageSpec(16, 16, 4)
    space = get_space("macro", MacroConfig(num_layers=3, out_filters=4, fixed_ops="original"))
    arch = space.arch_from_tokens("1 3 0 1 1 0")         # separable ops, built as regular convs
    net = space.build_fixed(arch, spec, total_steps=1)
    cost = space.arch_cost(arch, spec)
    assert (cost.params, cost.macs) == (net.count_params(), graph_macs(net, 16, 16))


def test_wider_ops_cost_more_and_json_has_millions():
    from enas_tf2.search_space.nb201.config import Nb201Config
    space = get_space("nb201", Nb201Config())
    spec = ImageSpec(32, 32, 10)
    cheap = space.arch_cost(space.arch_from_tokens(
        "|skip_connect~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"), spec)
    dear = space.arch_cost(space.arch_from_tokens(
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|"
        "nor_conv_3x3~2|"), spec)
    assert dear.params > cheap.params and dear.macs > 10 * cheap.macs
    assert dear.to_json()["macs_m"] == round(dear.macs / 1e6, 3)


def test_the_rnn_space_refuses_in_one_line():
    from enas_tf2.errors import EnasError
    from enas_tf2.search_space.rnn.config import RnnConfig
    space = get_space("rnn", RnnConfig(num_nodes=2, embed_size=4, hidden_size=4))
    with pytest.raises(EnasError, match="image search spaces"):
        space.arch_cost(space.random_arch(0), None)
