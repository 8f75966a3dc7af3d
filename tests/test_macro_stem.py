"""The downsampling (ImageNet) stem in the MACRO space: shapes of the shared child and the fixed
net for square and non-square images, parameter counts against an independent formula, the
stage lines, `auto`, the one-line error for images too small (from the command line:
tests/test_large_photos.py), and a search -> final -> export
-> predict run on real photos at 96 px."""

import dataclasses
import json
import logging
import os

import numpy as np
import pytest
import tensorflow as tf

from contracts import check_stem_round_trip
from enas_tf2.errors import EnasError
from enas_tf2.report.layer_table import layer_table
from enas_tf2.search_space.macro.arch import MacroArch
from enas_tf2.search_space.macro.config import MacroConfig
from enas_tf2.search_space.macro.net import MacroNet
from enas_tf2.search_space.macro.space import MacroSpace
from enas_tf2.data.specs import ImageSpec
from test_macro_net import COVERING, _formula, _rows

# Six layers: pool layers 1 and 3, so the layers run at 1/8, 1/16 and 1/32 of the side.
ARCH6 = MacroArch.from_tokens("0  3 1  1 0 1  4 1 1 0  5 0 0 1 1  2 1 0 0 1 0")


def _up(side, times):
    """`side` after `times` stride-2 SAME layers, written out (rounded up each time)."""
    for _ in range(times):
        side = (side + 1) // 2
    return side


def _count(variables):
    return sum(int(np.prod(v.shape)) for v in variables)


def _space(stem="imagenet", layers=6, filters=8, **fields):
    return MacroSpace(MacroConfig(num_layers=layers, out_filters=filters, stem=stem, **fields))


# ---- shapes --------------------------------------------------------------------------------------
@pytest.mark.parametrize("height,width", [(96, 96), (160, 96), (97, 225)])
def test_fixed_net_layers_run_at_an_eighth_of_the_side_then_halve(height, width):
    net = _space().build_fixed(ARCH6, ImageSpec(height, width, 5), total_steps=1)
    rows = {r.path: r.shape for r in layer_table(net, np.zeros((2, height, width, 3), np.float32),
                                                 depth=1, training=False)}
    h8, w8 = _up(height, 3), _up(width, 3)
    assert rows["stem"] == f"2x{_up(height, 2)}x{_up(width, 2)}x8, 2x{h8}x{w8}x8"
    # Pool layers 1 and 3: their own output is at the stage's size, the next layer reads it reduced.
    want = {0: (3, 8), 1: (3, 8), 2: (4, 16), 3: (4, 16), 4: (5, 32), 5: (5, 32)}
    for i, (down, channels) in want.items():
        assert rows[f"layer_{i}"] == f"2x{_up(height, down)}x{_up(width, down)}x{channels}", i
    assert rows["head"] == "2x5"


@pytest.mark.parametrize("height,width", [(96, 96), (160, 96)])
def test_shared_child_reads_the_stem_at_an_eighth_and_ends_at_a_thirty_second(height, width):
    child = _space().build_child(ImageSpec(height, width, 4))
    assert child.stem_kind == "imagenet"
    seen = {}
    original = child.head.call

    def spy(x, *args, **kwargs):          # the feature map the classifier pools
        seen["head_input"] = tuple(x.shape)
        return original(x, *args, **kwargs)

    child.head.call = spy
    try:
        images = tf.random.normal([2, height, width, 3], seed=0)
        logits = child(images, ARCH6.to_array(), training=True)
    finally:
        del child.head.call
    assert logits.shape == (2, 4)
    stem_1 = child.stem(images, training=True)[1]
    assert tuple(stem_1.shape) == (2, _up(height, 3), _up(width, 3), 8)
    assert seen["head_input"] == (2, _up(height, 5), _up(width, 5), 8)   # F throughout


# ---- parameter counts (independent formula) -----------------------------------------------------
def imagenet_stem_params(f):
    """conv 3x3 3 -> F/2 + BN, conv 3x3 F/2 -> F + BN, conv 3x3 F -> F + BN (no biases)."""
    return (9 * 3 * (f // 2) + 2 * (f // 2)) + (9 * (f // 2) * f + 2 * f) + (9 * f * f + 2 * f)


def cifar_stem_params(f):
    return 9 * 3 * f + 2 * f


@pytest.mark.parametrize("mode", ["as_named", "original"])
@pytest.mark.parametrize("filters", [8, 36])
def test_fixed_net_params_are_the_macro_formula_with_the_imagenet_stem(filters, mode):
    space = _space(layers=6, filters=filters, fixed_ops=mode)
    arch = COVERING if mode == "as_named" else MacroArch.from_tokens(
        "0  1 1  2 0 1  3 1 0 1  0 1 1 0 1  2 0 1 1 0 1")
    net = space.build_fixed(arch, ImageSpec(160, 96, 7), total_steps=1)
    assert _count(net.stem.trainable_variables) == imagenet_stem_params(filters)
    # `_formula` (test_macro_net) counts the CIFAR stem; only the stem differs.
    want = (_formula(_rows(arch), filters, 7, mode) - cifar_stem_params(filters)
            + imagenet_stem_params(filters))
    assert _count(net.trainable_variables) == want


def test_shared_child_differs_from_the_cifar_one_by_the_stem_only():
    counts = {}
    for stem in ("cifar", "imagenet"):
        counts[stem] = _count(_space(stem, filters=12).build_child(
            ImageSpec(64, 96, 3)).trainable_variables)
    assert counts["imagenet"] - counts["cifar"] == imagenet_stem_params(12) - cifar_stem_params(12)


# ---- stem choice, stage lines, errors ------------------------------------------------------------
@pytest.mark.parametrize("height,width,want", [
    (32, 32, "cifar"), (64, 64, "cifar"), (96, 96, "imagenet"), (160, 320, "imagenet"),
    (200, 20, "cifar")])
def test_auto_picks_like_the_micro_space(height, width, want):
    assert _space("auto").stem_for(ImageSpec(height, width, 3)) == want


def test_describe_stages_for_the_search_child_and_the_fixed_net():
    space = MacroSpace(MacroConfig(num_layers=12, out_filters=36, stem="auto"))
    spec = ImageSpec(224, 224, 5)
    search = space.describe_stages(spec)
    assert search == [
        "stem imagenet (--child_stem=auto for 224x224 images): 224x224 input, layers read "
        "28x28 (36 channels)",
        "layers 0-3: 28x28, 36 filters",
        "layers 4-7: 14x14, 36 filters (reduced after pool layer 3)",
        "layers 8-11: 7x7, 36 filters (reduced after pool layer 7)"]
    fixed = space.describe_stages(spec, fixed=True)
    assert fixed[:2] == search[:2] and fixed[2].startswith("layers 4-7: 14x14, 72 filters")
    assert fixed[3].startswith("layers 8-11: 7x7, 144 filters")
    cifar = _space("cifar", layers=2).describe_stages(ImageSpec(32, 40, 3))
    assert cifar == ["stem cifar: 32x40 input, layers read 32x40 (8 channels)",
                     "layers 0-1: 32x40, 8 filters"]


def test_too_small_images_stop_with_one_line():
    space = _space(layers=6)
    for build in (lambda spec: space.build_child(spec),
                  lambda spec: space.build_fixed(ARCH6, spec, total_steps=1)):
        with pytest.raises(EnasError) as err:
            build(ImageSpec(24, 64, 3))
        message = str(err.value)
        assert "\n" not in message and "24x64" in message and "at least 32 px" in message
        assert "--child_stem=cifar" in message
    # Fewer than 3 layers have no pool layer: the stem alone needs 8 px.
    assert _space(layers=2).stem_for(ImageSpec(8, 8, 3)) == "imagenet"
    with pytest.raises(EnasError, match="'auto' is resolved"):
        MacroNet(ARCH6, out_filters=8, num_classes=3, stem="auto")


def test_config_round_trip_and_checkpoint_cover_the_stem(tmp_path):
    net = _space().build_fixed(ARCH6, ImageSpec(64, 80, 3), total_steps=1)
    check_stem_round_trip(net, MacroNet, 64, 80, tmp_path)


# ---- real photos ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def photos_tfr(tmp_path_factory):
    """12 of the shipped flower photos per class (112 px shorter side), converted."""
    from enas_tf2.data.convert.convert import convert
    from enas_tf2.sample_data import flowers_dir
    root = tmp_path_factory.mktemp("macro_photos")
    for name in sorted(os.listdir(flowers_dir())):
        source = os.path.join(flowers_dir(), name)
        if not os.path.isdir(source):
            continue
        (root / "photos" / name).mkdir(parents=True)
        for photo in sorted(os.listdir(source))[:12]:
            (root / "photos" / name / photo).symlink_to(os.path.join(source, photo))
    convert("image_folder", str(root / "photos"), str(root / "tfr"), valid_fraction=0.2,
            test_fraction=0.2, seed=0)
    return str(root / "tfr"), str(root / "photos")


def _tiny(cfg, data_path, output_dir):
    """`cfg` shrunk to seconds: 3 layers of 4 filters (2 pool layers), 96 px, 2 steps of 8."""
    return cfg.replace(
        space_config=dataclasses.replace(cfg.space_config, num_layers=3, out_filters=4,
                                         stem="imagenet"),
        data=dataclasses.replace(cfg.data, dataset="tfrecord", data_path=data_path,
                                 image_size=(96, 96), batch_size=8, eval_batch_size=8),
        controller=dataclasses.replace(cfg.controller, train_steps=1, num_aggregate=1),
        run=dataclasses.replace(cfg.run, output_dir=output_dir, num_epochs=1,
                                max_steps_per_epoch=2, max_eval_batches=1, log_every=1,
                                derive_num_samples=2, steps_per_loop=1, preflight=False))


# Slow: the default suite runs the same pipeline for micro (test_api, test_export, test_predict).
@pytest.mark.slow
def test_macro_search_final_export_predict_on_real_photos(photos_tfr, tmp_path):
    from enas_tf2 import api
    from enas_tf2.configs.presets import get_preset
    from enas_tf2.tasks.image_classification.predictor import Predictor
    data, photos = photos_tfr
    # The loops log through the "enas_tf2" logger (a CLI run earlier in this process may have
    # made it non-propagating, so listen on it directly rather than through caplog).
    lines = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())
    logger = logging.getLogger("enas_tf2")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        found, final = _search_and_train(api, get_preset, data, tmp_path)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    # Each run starts with the stem and the resolution of every stage (search: F throughout).
    stem_line = "stem imagenet: 96x96 input, layers read 12x12 (4 channels)"
    assert lines.count(stem_line) == 2
    assert "layer 2: 3x3, 4 filters (reduced after pool layer 1)" in lines       # search child
    assert "layer 2: 3x3, 16 filters (reduced after pool layer 1)" in lines      # fixed net
    run_config = json.load(open(os.path.join(final.output_dir, "run_config.json")))
    assert run_config["space_config"]["stem"] == "imagenet"
    assert run_config["num_params"] == _count(_space(layers=3, filters=4).build_fixed(
        found.arch, ImageSpec(96, 96, 5), total_steps=1).trainable_variables)

    export_dir = api.export_model(final.output_dir, str(tmp_path / "export"))
    photo = os.path.join(photos, "roses", sorted(os.listdir(os.path.join(photos, "roses")))[0])
    (entry,) = Predictor(export_dir).predict_files([photo], top_k=5)
    probs = [c["probability"] for c in entry["top_k"]]
    assert abs(sum(probs) - 1.0) < 1e-4 and len(probs) == 5


def _search_and_train(api, get_preset, data, tmp_path):
    found = api.search(_tiny(get_preset("cifar10_macro_search"), data, str(tmp_path / "s")))
    assert found.arch.num_layers == 3
    final = api.train_final(_tiny(get_preset("cifar10_macro_final"), data, str(tmp_path / "f")),
                            found.arch)
    return found, final
