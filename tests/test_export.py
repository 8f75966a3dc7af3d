"""`enas-export`: run directory → SavedModel, scored in a FRESH process on real images."""

import dataclasses
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from enas_tf2.search_space.micro.config import MicroConfig
from enas_tf2.data.images.cifar10 import load_cifar10
from enas_tf2.data.images.image_decode import decode_bytes_for_size
from enas_tf2.data.images.preprocess import preprocess_for_eval
from enas_tf2.errors import EnasError
from enas_tf2.export.saved_model import export_run
from enas_tf2.export.trained_run import load_trained_run
from enas_tf2.search_space.micro.arch import MicroArch
from enas_tf2.search_space.micro.net import MicroNet

PUBLISHED = ("0 2 0 0 0 4 0 1 0 4 1 1 1 0 0 1 0 2 1 1 "
             "1 0 1 0 0 3 0 2 1 1 3 1 1 0 0 4 0 3 1 1")
FLOWERS = ["daisy", "dandelion", "roses", "sunflowers", "tulips"]
MEAN, STD = (0.49, 0.48, 0.45), (0.25, 0.24, 0.26)
IMAGE_SIZE = (40, 48)   # not square and not CIFAR's 32: every serving input gets resized


def _sgd_step(net, optimizer, image_size, num_classes, step):
    images = tf.random.normal([6, image_size[0], image_size[1], 3])
    labels = tf.constant([i % num_classes for i in range(6)])
    with tf.GradientTape() as tape:
        logits, aux_logits = net(images, training=True, step=step)
        loss = sum(tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, out))
                   for out in (logits, aux_logits))
    variables = net.trainable_variables
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))


def write_train_dir(root: pathlib.Path, class_names=FLOWERS, image_size=IMAGE_SIZE,
                    with_best=True, seed=0):
    """A final-training run directory as `enas_tf2.training.final_loop` writes it.

    A tiny net (N=1, F=4, aux head on) takes an eager SGD step (so weights and BN moving statistics
    leave their initial values) and is saved to ``ckpt/``; with `with_best`, one more step follows
    and those weights go to ``best/``. Returns ``(train_dir, net)``, `net` in its final state.
    """
    tf.random.set_seed(seed)
    child = MicroConfig(num_layers=1, num_cells=5, out_filters=4, keep_prob=0.8,
                        drop_path_keep_prob=0.6, use_aux_heads=True)
    arch = MicroArch.from_tokens(PUBLISHED)
    net = MicroNet(arch, child.num_layers, child.num_cells, child.out_filters, len(class_names),
                   child.keep_prob, child.drop_path_keep_prob, child.use_aux_heads, total_steps=10)
    net.build((None, image_size[0], image_size[1], 3))
    optimizer = keras.optimizers.SGD(0.1, momentum=0.9)
    train_dir = root / "train"
    step = tf.Variable(0, dtype=tf.int64)
    for sub in ("ckpt", "best") if with_best else ("ckpt",):
        _sgd_step(net, optimizer, image_size, len(class_names), int(step.numpy()))
        step.assign_add(1)
        objects = {"model": net, "optimizer": optimizer, "step": step} if sub == "ckpt" else {
            "model": net}
        tf.train.CheckpointManager(tf.train.Checkpoint(**objects), str(train_dir / sub),
                                   max_to_keep=2).save()
    config = {"search_space": "micro", "task": "image_classification", "arch": arch.to_json(),
              "space_config": dataclasses.asdict(child),
              "data": {"image_size": list(image_size), "mean": list(MEAN), "std": list(STD),
                       "class_names": list(class_names), "num_classes": len(class_names)}}
    (train_dir / "run_config.json").write_text(json.dumps(config))
    return train_dir, net


def pipeline_pixels(encoded: bytes, image_size=IMAGE_SIZE):
    """An image file decoded exactly as the input pipeline decodes it for evaluation (JPEGs at a
    reduced DCT scale when the target is small): what the encoded-bytes signature must see."""
    return decode_bytes_for_size(tf.constant(encoded), image_size).numpy()


def reference_probabilities(net, image_uint8, image_size=IMAGE_SIZE):
    """What the in-memory network says: eval preprocessing, forward, softmax."""
    x = preprocess_for_eval(tf.convert_to_tensor(image_uint8), image_size, MEAN, STD)
    return tf.nn.softmax(net(x[None], training=False)).numpy()[0]


# TensorFlow's CPU build logs its CUDA probing from C++ at import time, before absl logging is
# initialised, so TF_CPP_MIN_LOG_LEVEL cannot silence it. Everything else on stderr is ours.
_TF_STARTUP_LOG = re.compile(r"^(WARNING: All log messages before absl::InitializeLog|[IWE]\d{4} )")


def our_lines(stderr: str):
    """The stderr lines written by enas_tf2 (TensorFlow's start-up logging removed)."""
    return [l for l in stderr.strip().splitlines() if not _TF_STARTUP_LOG.match(l)]


def first_flower(flowers_dir, name="daisy"):
    return sorted((flowers_dir / name).glob("*.jpg"))[0]


def cifar_png(cifar10_dir, tmp_path, index=0):
    """A real CIFAR-10 test image (uint8 [32, 32, 3]) and its lossless PNG file."""
    image = load_cifar10(str(cifar10_dir)).test_images[index]
    path = tmp_path / f"cifar_test_{index}.png"
    path.write_bytes(tf.io.encode_png(image).numpy())
    return image, path


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    train_dir, net = write_train_dir(root)
    export_dir = root / "exported"
    run = export_run(str(train_dir), str(export_dir))
    return train_dir, export_dir, net, run


# Runs in a new interpreter with nothing but TensorFlow: proves the export is self-contained.
_FRESH_SCRIPT = """
import json, sys
import numpy as np
import tensorflow as tf
export_dir, out_path, *files = sys.argv[1:]
model = tf.saved_model.load(export_dir)
blobs = [open(f, "rb").read() for f in files]
encoded = model.signatures["serving_default"](images=tf.constant(blobs))
pixels = [tf.cast(tf.io.decode_image(b, channels=3, expand_animations=False), tf.float32)
          for b in blobs]
by_pixels = [model.signatures["serving_images"](images=p[None]) for p in pixels]
json.dump({"encoded": encoded["probabilities"].numpy().tolist(),
           "classes": encoded["classes"].numpy().tolist(),
           "class_names": [c.decode() for c in encoded["class_names"].numpy()],
           "pixels": [o["probabilities"].numpy()[0].tolist() for o in by_pixels]},
          open(out_path, "w"))
"""


def test_fresh_process_scores_real_images_like_the_in_memory_model(
        exported, flowers_dir, cifar10_dir, tmp_path):
    _, export_dir, net, _ = exported
    jpeg = first_flower(flowers_dir)
    cifar_image, png = cifar_png(cifar10_dir, tmp_path)
    out = tmp_path / "fresh.json"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, "-c", _FRESH_SCRIPT, str(export_dir), str(out),
                           str(jpeg), str(png)], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(out.read_text())

    jpeg_pixels = tf.io.decode_jpeg(jpeg.read_bytes(), channels=3).numpy()
    cifar_expected = reference_probabilities(net, cifar_image)
    expected = np.stack([reference_probabilities(net, pipeline_pixels(jpeg.read_bytes())),
                         cifar_expected])
    np.testing.assert_allclose(got["encoded"], expected, atol=1e-5)
    # The float-pixel signature gets full-size pixels and only resizes them.
    np.testing.assert_allclose(got["pixels"], np.stack(
        [reference_probabilities(net, jpeg_pixels), cifar_expected]), atol=1e-5)
    assert got["classes"] == expected.argmax(-1).tolist()
    assert got["class_names"] == [FLOWERS[c] for c in expected.argmax(-1)]
    # The network is not trivially constant: the two images get different distributions.
    assert np.abs(expected[0] - expected[1]).max() > 1e-4


def test_side_files_and_keras_file(exported, flowers_dir):
    _, export_dir, net, _ = exported
    assert json.loads((export_dir / "arch.json").read_text())["tokens"] == PUBLISHED
    assert json.loads((export_dir / "labels.json").read_text())["class_names"] == FLOWERS
    prep = json.loads((export_dir / "preprocessing.json").read_text())
    assert prep["image_size"] == list(IMAGE_SIZE) and prep["mean"] == list(MEAN)
    loaded = keras.saving.load_model(str(export_dir / "model.keras"))
    assert isinstance(loaded, MicroNet) and loaded.arch.tokens() == PUBLISHED
    pixels = tf.io.decode_jpeg(first_flower(flowers_dir, "roses").read_bytes(), channels=3)
    np.testing.assert_allclose(reference_probabilities(loaded, pixels),
                               reference_probabilities(net, pixels), atol=1e-6)


def test_export_takes_best_weights_and_falls_back_to_ckpt(exported, tmp_path):
    train_dir, _, net, run = exported
    image = np.full(IMAGE_SIZE + (3,), 128, np.uint8)
    # `best/` holds the final weights, `ckpt/` those one SGD step earlier: the export has `best/`.
    assert run.checkpoint.startswith(str(train_dir / "best"))
    np.testing.assert_allclose(reference_probabilities(run.net, image),
                               reference_probabilities(net, image), atol=1e-6)
    copy = tmp_path / "no_best"
    shutil.copytree(train_dir, copy)
    shutil.rmtree(copy / "best")
    fallback = load_trained_run(str(copy))
    assert fallback.checkpoint.startswith(str(copy / "ckpt"))
    assert np.abs(reference_probabilities(fallback.net, image)
                  - reference_probabilities(net, image)).max() > 1e-6


def test_errors_no_checkpoint_no_config_and_bad_export_dir(exported, tmp_path):
    source = exported[0]
    train_dir = tmp_path / "train"
    shutil.copytree(source, train_dir)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("someone's file")
    with pytest.raises(EnasError, match="not empty"):
        export_run(str(train_dir), str(busy))
    assert (busy / "keep.txt").exists()
    with pytest.raises(EnasError, match="would overwrite the training directory"):
        export_run(str(train_dir), str(tmp_path), overwrite=True)
    empty = tmp_path / "empty_run"
    empty.mkdir()
    with pytest.raises(EnasError, match="no run_config.json"):
        export_run(str(empty), str(tmp_path / "out1"))
    (empty / "run_config.json").write_text((train_dir / "run_config.json").read_text())
    with pytest.raises(EnasError, match="no trained checkpoint"):
        export_run(str(empty), str(tmp_path / "out2"))
    config = json.loads((train_dir / "run_config.json").read_text())
    config["space_config"]["out_filters"] = 6   # the checkpoint was trained with 4
    (train_dir / "run_config.json").write_text(json.dumps(config))
    with pytest.raises(EnasError, match="does not match"):
        export_run(str(train_dir), str(tmp_path / "out3"))
    assert not (tmp_path / "out1").exists() and not (tmp_path / "out3").exists()


def test_cli_without_checkpoint_prints_one_line_and_fails(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "run_config.json").write_text(json.dumps({
        "search_space": "micro", "arch": MicroArch.from_tokens(PUBLISHED).to_json(),
        "space_config": {"num_layers": 1, "num_cells": 5, "out_filters": 4},
        "data": {"image_size": [32, 32], "mean": list(MEAN), "std": list(STD),
                 "class_names": FLOWERS}}))
    proc = subprocess.run([sys.executable, "-m", "enas_tf2.cli.export_main",
                           f"--output_dir={run_dir}", f"--export_dir={tmp_path / 'out'}"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert our_lines(proc.stderr) == [proc.stderr.strip().splitlines()[-1]]
    assert our_lines(proc.stderr)[0].startswith("error: no trained checkpoint in"), proc.stderr
