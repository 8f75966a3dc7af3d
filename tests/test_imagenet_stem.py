"""The downsampling (ImageNet) stem: shapes for square and odd non-square images, its maths against
NumPy, parameter counts of the micro networks against an independent formula, `auto` and the
one-line errors for images too small for the stem."""

import numpy as np
import pytest
import tensorflow as tf

from contracts import check_stem_round_trip
from enas_tf2.errors import EnasError
from enas_tf2.layers.imagenet_stem import ImageNetStem
from enas_tf2.search_space.micro.arch import MicroArch
from enas_tf2.search_space.micro.config import MicroConfig
from enas_tf2.search_space.micro.net import MicroNet
from enas_tf2.search_space.micro.space import MicroSpace
from enas_tf2.search_space.stem_choice import resolve_stem
from enas_tf2.data.specs import ImageSpec

PUBLISHED = MicroArch.from_tokens("0 2 0 0 0 4 0 1 0 4 1 1 1 0 0 1 0 2 1 1 "
                                  "1 0 1 0 0 3 0 2 1 1 3 1 1 0 0 4 0 3 1 1")


def _ceil_half(side, times):
    for _ in range(times):
        side = (side + 1) // 2
    return side


# ---- shapes --------------------------------------------------------------------------------------
@pytest.mark.parametrize("height,width,h0,h1", [
    (224, 224, (56, 56), (28, 28)),
    (160, 320, (40, 80), (20, 40)),
    (97, 225, (25, 57), (13, 29)),      # odd sides round up at every stride: 97 -> 49 -> 25 -> 13
])
def test_stem_output_shapes_square_and_non_square(height, width, h0, h1):
    stem = ImageNetStem(8)
    stem.build((None, height, width, 3))
    out0, out1 = stem(tf.zeros([1, height, width, 3]), training=False)
    assert tuple(out0.shape) == (1, *h0, 8) and tuple(out1.shape) == (1, *h1, 8)
    assert stem.compute_output_shape((1, height, width, 3)) == ((1, *h0, 8), (1, *h1, 8))
    assert h1 == (_ceil_half(height, 3), _ceil_half(width, 3))


# ---- maths ---------------------------------------------------------------------------------------
def _conv_same_stride2(x, kernel):
    """NHWC 'SAME' convolution with stride 2, written out (TensorFlow's padding rule: the extra
    padding row/column goes to the bottom/right)."""
    n, h, w, _ = x.shape
    k = kernel.shape[0]
    out_h, out_w = -(-h // 2), -(-w // 2)
    pad_h, pad_w = max((out_h - 1) * 2 + k - h, 0), max((out_w - 1) * 2 + k - w, 0)
    padded = np.pad(x, ((0, 0), (pad_h // 2, pad_h - pad_h // 2),
                        (pad_w // 2, pad_w - pad_w // 2), (0, 0)))
    y = np.zeros((n, out_h, out_w, kernel.shape[-1]))
    for i in range(out_h):
        for j in range(out_w):
            window = padded[:, 2 * i:2 * i + k, 2 * j:2 * j + k, :]
            y[:, i, j, :] = np.tensordot(window, kernel, axes=([1, 2, 3], [0, 1, 2]))
    return y


def _bn_batch(y, gamma, beta, eps=1e-5):
    mean = y.mean(axis=(0, 1, 2))
    var = y.var(axis=(0, 1, 2))
    return (y - mean) / np.sqrt(var + eps) * gamma + beta


def test_stem_computes_conv_bn_relu_conv_bn_then_relu_conv_bn():
    rng = np.random.default_rng(0)
    stem = ImageNetStem(6, batch_stats_only=True)
    stem.build((None, 13, 10, 3))
    for weight in stem.weights:     # non-trivial BN scales/offsets
        weight.assign(rng.normal(size=weight.shape).astype(np.float32))
    x = rng.normal(size=(3, 13, 10, 3)).astype(np.float32)
    h0, h1 = stem(tf.constant(x), training=True)

    def conv_bn(layer, inputs, relu_first):
        inputs = np.maximum(inputs, 0) if relu_first else inputs
        return _bn_batch(_conv_same_stride2(inputs, layer.kernel.numpy()),
                         layer.bn.gamma.numpy(), layer.bn.beta.numpy())

    want_0 = conv_bn(stem.conv_1, conv_bn(stem.conv_0, x, False), True)
    want_1 = conv_bn(stem.conv_2, want_0, True)
    assert stem.conv_0.kernel.shape == (3, 3, 3, 3)       # C/2 channels first
    np.testing.assert_allclose(h0.numpy(), want_0, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(h1.numpy(), want_1, rtol=1e-4, atol=1e-4)


# ---- parameter counts (independent per-op formula, docs/enas_reference.md §1.2, §1.4) ------------
def _bn(c):
    return 2 * c


def _conv_bn(k, c_in, c_out):
    return k * k * c_in * c_out + _bn(c_out)


def _fr(c_in, f):                  # factorized reduction: two 1x1 convs to f/2, BN
    return 2 * c_in * (f // 2) + _bn(f)


def _sep(k, f):                    # (depthwise k x k + pointwise + BN) twice
    return 2 * (k * k * f + f * f + _bn(f))


def _cell(nodes, reduction, c0, c1, same_size, f):
    p = (_fr(c0, f) if not same_size else _conv_bn(1, c0, f) if c0 != f else 0)
    p += _conv_bn(1, c1, f) if c1 != f else 0
    p += _conv_bn(1, f, f)                                 # layer_base
    used = set()
    for i1, op1, i2, op2 in nodes:
        used.update((i1, i2))
        for index, op in ((i1, op1), (i2, op2)):
            if op in (0, 1):
                p += _sep(3 if op == 0 else 5, f)
            elif op == 4 and reduction and index < 2:
                p += _fr(f, f)
    loose = [j for j in range(len(nodes) + 2) if j not in used]
    p += sum(_fr(f, f) for j in loose if reduction and j < 2)
    return p, len(loose) * f


def imagenet_net_params(arch, layers, f, classes, height, width, aux):
    """Trainable parameters of the fixed micro net with the imagenet stem (+ aux head)."""
    c = 3 * f
    total = _conv_bn(3, 3, c // 2) + _conv_bn(3, c // 2, c) + _conv_bn(3, c, c)
    reductions = (layers // 3, 2 * (layers // 3) + 1)
    prev = [(c, 4), (c, 8)]        # (channels, downsampling of the side) of h0, h1
    aux_params = 0
    for layer in range(layers + 2):
        reduction = layer in reductions
        f *= 2 if reduction else 1
        (c0, d0), (c1, d1) = prev
        p, c_out = _cell(arch.reduce if reduction else arch.normal, reduction, c0, c1, d0 == d1, f)
        total += p
        prev = [prev[1], (c_out, d1 * 2 if reduction else d1)]
        if aux and layer == reductions[1] + 1:
            side_h, side_w = _ceil_half(height, 5), _ceil_half(width, 5)
            pooled = [min(2, (s - 5) // 3 + 1) for s in (side_h, side_w)]
            aux_params = (c_out * 128 + _bn(128) + pooled[0] * pooled[1] * 128 * 768 + _bn(768)
                          + 768 * classes)
    return total + prev[1][0] * classes + aux_params


def _count(variables):
    return sum(int(np.prod(v.shape)) for v in variables)


@pytest.mark.parametrize("height,width,aux", [(224, 224, True), (160, 320, True), (96, 96, False)])
def test_fixed_net_params_match_the_formula(height, width, aux):
    space = MicroSpace(MicroConfig(num_layers=6, out_filters=20, stem="imagenet",
                                   use_aux_heads=aux))
    net = space.build_fixed(PUBLISHED, ImageSpec(height, width, 5), total_steps=10)
    assert net.stem_kind == "imagenet"
    assert _count(net.trainable_variables) == imagenet_net_params(PUBLISHED, 6, 20, 5, height,
                                                                  width, aux)


def test_shared_child_differs_from_the_cifar_one_by_the_stem_only():
    f = 8
    counts = {}
    for stem in ("cifar", "imagenet"):
        space = MicroSpace(MicroConfig(num_layers=2, num_cells=3, out_filters=f, stem=stem))
        child = space.build_child(ImageSpec(64, 96, 4))
        counts[stem] = _count(child.trainable_variables)
        logits = child(tf.zeros([2, 64, 96, 3]), MicroArch.random(3, 0).to_array(),
                       training=True)
        assert logits.shape == (2, 4)
    # Cell 0's h0 calibration costs the same either way (factorized reduction 3F -> F with two
    # halves vs 1x1 conv 3F -> F, plus BN), so only the stems differ.
    c = 3 * f
    imagenet_stem = _conv_bn(3, 3, c // 2) + _conv_bn(3, c // 2, c) + _conv_bn(3, c, c)
    assert counts["imagenet"] - counts["cifar"] == imagenet_stem - _conv_bn(3, 3, c)


# ---- stem choice, stage sizes and errors ---------------------------------------------------------
@pytest.mark.parametrize("height,width,want", [
    (32, 32, "cifar"), (64, 64, "cifar"), (65, 64, "imagenet"), (224, 224, "imagenet"),
    (160, 320, "imagenet"), (200, 20, "cifar"),     # 20 px is too short a side for /32
])
def test_auto_picks_the_cifar_stem_up_to_64_px(height, width, want):
    assert resolve_stem("auto", height, width, num_reductions=2) == want
    assert MicroSpace(MicroConfig(stem="auto")).stem_for(ImageSpec(height, width, 3)) == want


def test_describe_stages_gives_each_stage_resolution():
    lines = MicroSpace(MicroConfig(stem="auto")).describe_stages(ImageSpec(160, 320, 5))
    assert lines == [
        "stem imagenet (--child_stem=auto for 160x320 images): 160x320 input, cells read 40x80 "
        "and 20x40 (60 channels)",
        "cells 0-1: 20x40, 20 filters",
        "cells 2-4: 10x20, 40 filters (cell 2 reduces)",
        "cells 5-7: 5x10, 80 filters (cell 5 reduces)"]
    cifar = MicroSpace(MicroConfig(stem="cifar", num_layers=3)).describe_stages(
        ImageSpec(32, 32, 10))
    assert cifar[1:] == ["cell 0: 32x32, 20 filters",
                         "cells 1-2: 16x16, 40 filters (cell 1 reduces)",
                         "cells 3-4: 8x8, 80 filters (cell 3 reduces)"]


def test_too_small_images_get_one_line_with_the_minimum():
    space = MicroSpace(MicroConfig(num_layers=2, out_filters=4, stem="imagenet"))
    with pytest.raises(EnasError) as err:
        space.build_child(ImageSpec(24, 64, 3))
    message = str(err.value)
    assert "\n" not in message and "24x64" in message and "at least 32 px" in message
    with pytest.raises(EnasError, match="at least 32 px"):
        space.build_fixed(MicroArch.random(5, 0), ImageSpec(31, 200, 3), total_steps=1)
    aux = MicroSpace(MicroConfig(num_layers=2, out_filters=4, stem="imagenet",
                                 use_aux_heads=True))
    with pytest.raises(EnasError, match="at least 129 px.*--nochild_use_aux_heads"):
        aux.build_fixed(MicroArch.random(5, 0), ImageSpec(96, 96, 3), total_steps=1)
    with pytest.raises(EnasError, match="'auto' is resolved"):
        MicroNet(PUBLISHED, num_layers=2, num_cells=5, out_filters=4, num_classes=3, stem="auto")
    with pytest.raises(EnasError, match="unknown --child_stem"):
        resolve_stem("nasnet", 224, 224, 2)


# ---- serialisation -------------------------------------------------------------------------------
def test_config_round_trip_and_checkpoint_cover_the_stem(tmp_path):
    space = MicroSpace(MicroConfig(num_layers=2, out_filters=4, stem="imagenet"))
    net = space.build_fixed(PUBLISHED, ImageSpec(48, 80, 3), total_steps=1)
    check_stem_round_trip(net, MicroNet, 48, 80, tmp_path)


# ---- presets -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["images_micro_search", "images_micro_final",
                                  "images_micro_search.smoke", "images_micro_final.smoke"])
def test_photo_presets_pick_the_stem_from_the_image_size(name):
    from enas_tf2.configs.presets import get_preset
    from enas_tf2.search_space.registry import get_space
    cfg = get_preset(name)
    assert cfg.space_config.stem == "auto" and cfg.data.image_size == (224, 224)
    space = get_space(cfg.space, cfg.space_config)
    spec = ImageSpec(224, 224, 5)
    assert space.stem_for(spec) == "imagenet" and space.stem_for(ImageSpec(64, 64, 5)) == "cifar"
    if name.endswith(".smoke"):     # the smoke sizes build (aux head included) at 224 px
        net = space.build_fixed(MicroArch.random(cfg.space_config.num_cells, 0), spec, 1)
        assert net.stem_kind == "imagenet" and net(tf.zeros([1, 224, 224, 3])).shape == (1, 5)
