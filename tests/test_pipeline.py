"""Input pipeline on real files: CIFAR-10 arrays, converted flower photos, hand-written shards."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from enas_tf2.configs.base import DataConfig
from enas_tf2.data import manifest as manifest_lib
from enas_tf2.data import records
from enas_tf2.data.images.cifar10 import load_cifar10
from enas_tf2.data.images.image_decode import decode_bytes_for_size, decode_for_size, jpeg_ratio_index
from enas_tf2.data.images.pipeline import build_data, check_shards, explain_read_error, preprocess_for_eval
from enas_tf2.errors import EnasError


def _standardized(images, mean, std):
    return (images.astype(np.float64) / 255.0 - np.array(mean)) / np.array(std)


# ---------------------------------------------------------------- CIFAR-10


@pytest.fixture(scope="module")
def cifar(cifar10_dir):
    return load_cifar10(str(cifar10_dir))


@pytest.fixture(scope="module")
def cifar_bundle(cifar10_dir):
    return build_data(DataConfig(dataset="cifar10", data_path=str(cifar10_dir), valid_size=1000,
                                 batch_size=50, eval_batch_size=200, cutout_size=8))


def test_cifar_split_counts_and_statistics(cifar_bundle, cifar):
    assert cifar_bundle.counts == {"train": 3000, "valid": 1000, "test": 1000}
    assert cifar_bundle.num_classes == 10 and cifar_bundle.class_names[6] == "frog"
    assert cifar_bundle.image_shape == (32, 32, 3)
    # Population mean/std per channel of the first 3,000 images only (the search split).
    pixels = cifar.train_images[:3000].reshape(-1, 3) / 255.0
    np.testing.assert_allclose(cifar_bundle.mean, pixels.mean(axis=0), atol=1e-9)
    np.testing.assert_allclose(cifar_bundle.std, pixels.std(axis=0), atol=1e-9)


def test_cifar_valid_is_the_standardized_tail_in_order(cifar_bundle, cifar):
    batches = list(cifar_bundle.valid.as_numpy_iterator())
    images = np.concatenate([b[0] for b in batches])
    labels = np.concatenate([b[1] for b in batches])
    assert [len(b[1]) for b in batches] == [200] * 5
    np.testing.assert_allclose(images, _standardized(cifar.train_images[3000:], cifar_bundle.mean,
                                                     cifar_bundle.std), atol=1e-5)
    np.testing.assert_array_equal(labels, cifar.train_labels[3000:])
    test_labels = np.concatenate([b[1] for b in cifar_bundle.test.as_numpy_iterator()])
    np.testing.assert_array_equal(test_labels, cifar.test_labels)


def test_cifar_train_batches_are_augmented_pixels(cifar_bundle):
    images, labels = next(iter(cifar_bundle.train))
    assert images.shape == (50, 32, 32, 3) and images.dtype == tf.float32
    assert labels.dtype == tf.int32 and 0 <= labels.numpy().min() and labels.numpy().max() <= 9
    # Undoing the standardisation gives whole pixel values (crop/flip/pad only move pixels;
    # cutout zeros map back to the channel mean, i.e. mean*255).
    pixels = images.numpy() * np.array(cifar_bundle.std) * 255 + np.array(cifar_bundle.mean) * 255
    mean_pixels = np.isclose(pixels, np.array(cifar_bundle.mean) * 255, atol=1e-3)
    whole = np.isclose(pixels, np.round(pixels), atol=1e-3)
    assert np.all(whole | mean_pixels)
    # Padding (standardised first, then zero-padded, as the original) shows the channel mean.
    assert np.mean(np.all(mean_pixels, axis=-1)) > 0.005


def test_cifar_reward_batches_are_unaugmented_valid_images(cifar_bundle, cifar):
    images, labels = next(iter(cifar_bundle.reward))
    assert images.shape == (50, 32, 32, 3)
    valid = _standardized(cifar.train_images[3000:], cifar_bundle.mean, cifar_bundle.std)
    for image, label in zip(images.numpy()[:5], labels.numpy()[:5]):
        distances = np.abs(valid - image).max(axis=(1, 2, 3))
        index = int(np.argmin(distances))
        assert distances[index] < 1e-4 and cifar.train_labels[3000 + index] == label


def test_cifar_final_mode_and_resize(cifar10_dir, cifar):
    bundle = build_data(DataConfig(dataset="cifar10", data_path=str(cifar10_dir.parent),
                                   valid_size=0, batch_size=16, eval_batch_size=100,
                                   image_size=(48, 40)))
    assert bundle.valid is None and bundle.reward is None
    assert bundle.counts == {"train": 4000, "valid": 0, "test": 1000}
    assert bundle.image_shape == (48, 40, 3)
    assert next(iter(bundle.train))[0].shape == (16, 48, 40, 3)
    first = next(iter(bundle.test))[0].numpy()
    expected = preprocess_for_eval(cifar.test_images[:100], (48, 40), bundle.mean, bundle.std)
    np.testing.assert_allclose(first, expected.numpy(), atol=1e-5)


def test_cifar_bad_settings(cifar10_dir):
    with pytest.raises(EnasError, match="--valid_size=5000 must be in"):
        build_data(DataConfig(dataset="cifar10", data_path=str(cifar10_dir)))
    with pytest.raises(EnasError, match="malformed --image_size"):
        build_data(DataConfig(dataset="cifar10", data_path=str(cifar10_dir), image_size="32y"))
    with pytest.raises(EnasError, match="unknown --dataset 'mnist'"):
        build_data(DataConfig(dataset="mnist", data_path=str(cifar10_dir)))


def test_every_dataset_is_data_sharded(cifar_bundle):
    policy = tf.data.experimental.AutoShardPolicy.DATA
    for dataset in (cifar_bundle.train, cifar_bundle.valid, cifar_bundle.test, cifar_bundle.reward):
        assert dataset.options().experimental_distribute.auto_shard_policy == policy


# ---------------------------------------------------------------- preprocess_for_eval


def test_preprocess_for_eval_hand_values():
    # A constant image stays constant under bilinear resize: 51 -> (51/255 - 0.1) / 0.5 = 0.2.
    image = np.full([2, 3, 3], 51, np.uint8)
    for size in ((8, 10),):
        out = preprocess_for_eval(image, size, (0.1, 0.1, 0.1), (0.5, 0.5, 0.5)).numpy()
        assert out.shape == (8, 10, 3)
        np.testing.assert_allclose(out, 0.2, atol=1e-6)
    batch = preprocess_for_eval(np.stack([image, image]).astype(np.float32), (9, 9), (0.1,) * 3,
                                (0.5,) * 3)
    assert batch.shape == (2, 9, 9, 3)
    np.testing.assert_allclose(batch.numpy(), 0.2, atol=1e-6)
    unchanged = preprocess_for_eval(image, None, (0.0,) * 3, (1.0,) * 3).numpy()
    np.testing.assert_allclose(unchanged, 0.2, atol=1e-6)


# ---------------------------------------------------------------- converted flower photos


@pytest.fixture(scope="module")
def flowers_tfr(flowers_dir, tmp_path_factory):
    from enas_tf2.data.convert.convert import convert
    out = tmp_path_factory.mktemp("flowers") / "tfr"
    convert("image_folder", str(flowers_dir), str(out), seed=0)
    return out


def test_jpeg_ratio_index_hand_values():
    cases = [((333, 500), (160, 160), 1),   # /2 -> 167x250 covers 160, /4 -> 84 does not
             ((333, 500), (224, 224), 0),   # /2 -> 167 < 224
             ((333, 500), (32, 32), 3),     # /8 -> 42x63
             ((1000, 500), (224, 224), 1),  # /2 -> 500x250, /4 -> 250x125
             ((1000, 2000), (224, 224), 2),  # /4 -> 250x500, /8 -> 125
             ((100, 100), (224, 224), 0)]   # smaller than the target: full decode
    for (h, w), size, expected in cases:
        assert int(jpeg_ratio_index(h, w, size)) == expected


def test_dct_downscaled_decode_matches_full_decode(flowers_dir):
    path = sorted((flowers_dir / "daisy").glob("*.jpg"))[0]
    encoded = tf.io.read_file(str(path))
    full = tf.io.decode_jpeg(encoded, channels=3)
    height, width = int(full.shape[0]), int(full.shape[1])
    small = decode_for_size(encoded, tf.constant("jpeg"), height, width, (64, 64))
    ratio = 2 ** int(jpeg_ratio_index(height, width, (64, 64)))
    assert ratio > 1
    assert small.shape == (-(-height // ratio), -(-width // ratio), 3)
    # DCT scaling by 1/r is close to averaging r x r blocks of the full decode (mean difference
    # about 1.5 grey levels here; a one-pixel shift gives about 18, another photo about 67).
    rows, cols = height // ratio, width // ratio
    blocks = full.numpy()[:rows * ratio, :cols * ratio].astype(np.float64)
    blocks = blocks.reshape(rows, ratio, cols, ratio, 3).mean(axis=(1, 3))
    assert np.abs(small.numpy()[:rows, :cols] - blocks).mean() < 3.0


def test_bare_bytes_decode_like_records(flowers_dir):
    """Serving decodes image bytes without record metadata exactly as the pipeline does."""
    path = sorted((flowers_dir / "tulips").glob("*.jpg"))[0]
    encoded = tf.io.read_file(str(path))
    height, width = tf.io.extract_jpeg_shape(encoded).numpy()[:2]
    from_record = decode_for_size(encoded, tf.constant("jpeg"), height, width, (100, 100))
    from_bytes = decode_bytes_for_size(encoded, (100, 100))
    np.testing.assert_array_equal(from_bytes.numpy(), from_record.numpy())
    png = tf.io.encode_png(from_bytes)                   # PNG: always a full decode
    np.testing.assert_array_equal(decode_bytes_for_size(png, (8, 8)).numpy(), from_bytes.numpy())


def test_flowers_bundle(flowers_tfr):
    manifest = json.loads((flowers_tfr / "manifest.json").read_text())
    bundle = build_data(DataConfig(dataset="tfrecord", data_path=str(flowers_tfr),
                                   image_size="48x64", batch_size=32, eval_batch_size=16))
    assert bundle.counts == {s: manifest["splits"][s]["count"] for s in ("train", "valid", "test")}
    assert bundle.class_names == ["daisy", "dandelion", "roses", "sunflowers", "tulips"]
    assert bundle.num_classes == 5 and bundle.image_shape == (48, 64, 3)
    np.testing.assert_allclose(bundle.mean, manifest["normalization"]["mean"])
    images, labels = next(iter(bundle.train))
    assert images.shape == (32, 48, 64, 3) and images.dtype == tf.float32
    assert labels.dtype == tf.int32 and set(labels.numpy()) <= set(range(5))
    assert next(iter(bundle.reward))[0].shape == (32, 48, 64, 3)

    # Valid: one ordered pass = every record of the shard, each through preprocess_for_eval.
    valid_images = np.concatenate([b[0] for b in bundle.valid.as_numpy_iterator()])
    valid_labels = np.concatenate([b[1] for b in bundle.valid.as_numpy_iterator()])
    stored = [records.parse_example(r) for r in tf.data.TFRecordDataset(
        str(flowers_tfr / manifest["splits"]["valid"]["shards"][0]["name"]))]
    assert len(valid_images) == len(stored) == bundle.counts["valid"]
    np.testing.assert_array_equal(valid_labels, [int(f[records.LABEL]) for f in stored])
    decoded = decode_for_size(stored[0][records.ENCODED], stored[0][records.FORMAT],
                              stored[0][records.HEIGHT], stored[0][records.WIDTH], (48, 64))
    expected = preprocess_for_eval(decoded, (48, 64), bundle.mean, bundle.std).numpy()
    np.testing.assert_allclose(valid_images[0], expected, atol=1e-5)
    assert sum(len(b[1]) for b in bundle.test.as_numpy_iterator()) == bundle.counts["test"]


def test_shards_are_streamed_not_embedded(flowers_tfr):
    bundle = build_data(DataConfig(dataset="tfrecord", data_path=str(flowers_tfr),
                                   image_size=(32, 32), batch_size=8))
    data_bytes = sum(os.path.getsize(flowers_tfr / n) for n in os.listdir(flowers_tfr))
    graph_bytes = len(bundle.train._as_serialized_graph().numpy())
    assert data_bytes > 10_000_000 and graph_bytes < 200_000


def test_mixed_sizes_need_an_image_size(flowers_tfr):
    with pytest.raises(EnasError, match=r"--image_size is required .* from \d+x\d+ to \d+x\d+"):
        build_data(DataConfig(dataset="tfrecord", data_path=str(flowers_tfr)))


# ---------------------------------------------------------------- hand-written shards


COLORS = np.array([[51, 102, 204], [255, 0, 102]], np.uint8)


def _write_shards(folder, split_counts, size=(8, 8), with_manifest=True):
    """Solid-colour PNG records, alternating the two `COLORS` (labels 0/1)."""
    folder.mkdir(parents=True, exist_ok=True)
    splits = {}
    for split, count in split_counts.items():
        path = folder / records.shard_name(split, 0, 1)
        with tf.io.TFRecordWriter(str(path)) as writer:
            for i in range(count):
                image = np.broadcast_to(COLORS[i % 2], (*size, 3))
                encoded = tf.io.encode_png(image).numpy()
                writer.write(records.encode_example(encoded, "png", i % 2, *size))
        stats = {"height": {"min": size[0], "max": size[0]},
                 "width": {"min": size[1], "max": size[1]}}
        splits[split] = {"count": count, "shards": [manifest_lib.describe_shard(str(path), count)],
                         "image_size": stats}
    manifest_lib.write_json(str(folder / "labels.json"), manifest_lib.labels_payload(["a", "b"]))
    if with_manifest:
        manifest = manifest_lib.build_manifest({"type": "test"}, ["a", "b"], splits,
                                               {"mean": [0.5] * 3, "std": [0.25] * 3}, [])
        manifest_lib.write_json(str(folder / "manifest.json"), manifest)
    return folder


def test_uniform_size_is_the_default_image_size(tmp_path):
    folder = _write_shards(tmp_path / "d", {"train": 6, "valid": 4})
    bundle = build_data(DataConfig(dataset="tfrecord", data_path=str(folder), batch_size=4,
                                   eval_batch_size=3))
    assert bundle.image_shape == (8, 8, 3) and bundle.test is None
    assert bundle.counts == {"train": 6, "valid": 4, "test": 0}
    images, labels = next(iter(bundle.valid))
    # Colour 0 = (51, 102, 204) with mean 0.5 / std 0.25: (0.2 - 0.5) / 0.25 = -1.2, 0.4, 1.2.
    np.testing.assert_allclose(images.numpy()[0, 0, 0], [-1.2, -0.4, 1.2], atol=1e-5)
    np.testing.assert_array_equal(labels.numpy(), [0, 1, 0])


def test_without_manifest_shards_are_found_and_statistics_estimated(tmp_path):
    folder = _write_shards(tmp_path / "d", {"train": 6, "test": 2}, with_manifest=False)
    bundle = build_data(DataConfig(dataset="tfrecord", data_path=str(folder), image_size=8,
                                   batch_size=2))
    assert bundle.counts == {"train": 6, "valid": 0, "test": 2}
    # Half the pixels of each colour: mean = average, std = half the difference (in [0, 1]).
    np.testing.assert_allclose(bundle.mean, COLORS.mean(axis=0) / 255, atol=1e-6)
    np.testing.assert_allclose(bundle.std, np.abs(COLORS[0] / 255 - COLORS[1] / 255) / 2, atol=1e-5)


def test_missing_and_truncated_shards_fail_at_build(tmp_path):
    folder = _write_shards(tmp_path / "d", {"train": 4})
    shard = folder / records.shard_name("train", 0, 1)
    data = shard.read_bytes()
    shard.write_bytes(data[:-10])
    with pytest.raises(EnasError, match="train-00000-of-00001.tfrecord.*bytes but manifest"):
        build_data(DataConfig(dataset="tfrecord", data_path=str(folder), batch_size=2))
    shard.unlink()
    with pytest.raises(EnasError, match="train-00000-of-00001.tfrecord.* is missing"):
        build_data(DataConfig(dataset="tfrecord", data_path=str(folder), batch_size=2))


def test_corrupt_shard_is_named_at_read_time(tmp_path):
    folder = _write_shards(tmp_path / "d", {"train": 6, "valid": 2})
    shard = folder / records.shard_name("train", 0, 1)
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF                         # same size, payload CRC now wrong
    shard.write_bytes(bytes(data))
    bundle = build_data(DataConfig(dataset="tfrecord", data_path=str(folder), batch_size=2))
    with pytest.raises(tf.errors.DataLossError) as caught:
        for _ in bundle.train.take(4):
            pass
    error = explain_read_error(str(folder), caught.value)
    assert isinstance(error, EnasError) and "train-00000-of-00001.tfrecord" in str(error)
    with pytest.raises(EnasError, match="train-00000-of-00001.tfrecord.* is corrupt: .*"):
        check_shards(str(folder), verify_hash=False)
    with pytest.raises(EnasError, match="sha256 differs"):
        check_shards(str(folder))


def test_check_shards_counts_records(tmp_path):
    folder = _write_shards(tmp_path / "d", {"train": 5, "valid": 3})
    assert check_shards(str(folder)) == {"train-00000-of-00001.tfrecord": 5,
                                         "valid-00000-of-00001.tfrecord": 3}


def test_bad_folders(tmp_path):
    with pytest.raises(EnasError, match="does not exist"):
        build_data(DataConfig(dataset="tfrecord", data_path=str(tmp_path / "none"), image_size=8))
    with pytest.raises(EnasError, match="labels.json is missing"):
        build_data(DataConfig(dataset="tfrecord", data_path=str(tmp_path), image_size=8))
    (tmp_path / "labels.json").write_text('{"class_names": ["a", "b"]}')
    with pytest.raises(EnasError, match="no train shards"):
        build_data(DataConfig(dataset="tfrecord", data_path=str(tmp_path), image_size=8))


# ---------------------------------------------------------------- tf.distribute


def test_mirrored_strategy_splits_the_global_batch(cifar10_dir):
    """Two logical CPU devices (set before TensorFlow starts, hence a fresh process)."""
    script = textwrap.dedent(f"""
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from enas_tf2.configs.base import DataConfig
        from enas_tf2.data.images.pipeline import build_data
        bundle = build_data(DataConfig(data_path={str(cifar10_dir)!r}, valid_size=1000,
                                       batch_size=8))
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        images, labels = next(iter(strategy.experimental_distribute_dataset(bundle.train)))
        print("SHAPES", [tuple(t.shape) for t in strategy.experimental_local_results(images)])
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "SHAPES [(4, 32, 32, 3), (4, 32, 32, 3)]" in done.stdout
