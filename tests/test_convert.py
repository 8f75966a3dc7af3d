"""enas-convert: real photos and CIFAR-10 read back after conversion; bad files, formats, errors."""

import hashlib
import json
import os
import pickle
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from enas_tf2.data import records
from enas_tf2.data.convert.convert import convert, plan_conversion
from enas_tf2.data.convert.image_encoding import (encode_image_bytes, jpeg_components, jpeg_is_complete,
                                          resized_shape, sniff_format)
from enas_tf2.data.convert.image_folder import SPLITS, stratified_split
from enas_tf2.data.manifest import SplitStats, read_manifest
from enas_tf2.errors import EnasError

FLOWER_CLASSES = ["daisy", "dandelion", "roses", "sunflowers", "tulips"]


def _read_split(out_dir, manifest, split):
    """Every record of a split as numpy values, shard by shard."""
    rows = []
    for shard in manifest["splits"][split]["shards"]:
        for serialized in tf.data.TFRecordDataset(os.path.join(out_dir, shard["name"])):
            rows.append({k: v.numpy() for k, v in records.parse_example(serialized).items()})
    return rows


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _copy_photos(flowers_dir, dest, per_class=4, classes=("daisy", "roses")):
    for name in classes:
        os.makedirs(dest / name)
        for file in sorted(os.listdir(flowers_dir / name))[:per_class]:
            shutil.copy(flowers_dir / name / file, dest / name / file)
    return dest


@pytest.fixture(scope="module")
def flowers_tfr(flowers_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("flowers") / "tfr"
    manifest = convert("image_folder", str(flowers_dir), str(out), num_shards=2, seed=0)
    return out, manifest


def test_flowers_round_trip_labels_sizes_and_bytes(flowers_dir, flowers_tfr):
    out, manifest = flowers_tfr
    assert manifest["class_names"] == FLOWER_CLASSES
    assert json.loads((out / "labels.json").read_text())["class_names"] == FLOWER_CLASSES
    # 60 photos per class; 0.1 of 60 = 6 to valid and 6 to test.
    expected = {"train": 48, "valid": 6, "test": 6}
    sources = {}
    for name in FLOWER_CLASSES:
        for file in os.listdir(flowers_dir / name):
            data = (flowers_dir / name / file).read_bytes()
            sources[_sha(data)] = (name, tuple(tf.io.extract_jpeg_shape(data).numpy()[:2]))
    seen = set()
    for split in SPLITS:
        entry = manifest["splits"][split]
        assert entry["count"] == 5 * expected[split]
        assert entry["per_class"] == {name: expected[split] for name in FLOWER_CLASSES}
        rows = _read_split(out, manifest, split)
        assert len(rows) == entry["count"]
        for row in rows:
            digest = _sha(row[records.ENCODED])
            class_name, shape = sources[digest]       # original bytes stored, no re-encoding
            assert FLOWER_CLASSES[row[records.LABEL]] == class_name
            assert (row[records.HEIGHT], row[records.WIDTH]) == shape
            assert row[records.FORMAT] == b"jpeg"
            seen.add(digest)
        heights = [sources[_sha(r[records.ENCODED])][1][0] for r in rows]
        assert entry["image_size"]["height"]["min"] == min(heights)
        assert entry["image_size"]["height"]["max"] == max(heights)
        assert entry["image_size"]["height"]["mean"] == pytest.approx(np.mean(heights), abs=0.01)
        for shard in entry["shards"]:
            assert shard["sha256"] == _sha((out / shard["name"]).read_bytes())
        assert [s["count"] for s in entry["shards"]] == [(entry["count"] + 1) // 2,
                                                        entry["count"] // 2]
    assert len(seen) == 300 and manifest["skipped"] == []


def _mean_std(images):
    """Per-channel mean and population std in [0, 1] units from exact integer sums."""
    total, squares, count = np.zeros(3, np.int64), np.zeros(3, np.int64), 0
    for image in images:
        image = np.asarray(image, np.int64).reshape(-1, 3)
        total, squares = total + image.sum(0), squares + (image ** 2).sum(0)
        count += len(image)
    mean = total / count
    return mean / 255.0, np.sqrt(squares / count - mean ** 2) / 255.0


def test_flowers_normalization_matches_numpy(flowers_tfr):
    out, manifest = flowers_tfr
    mean, std = _mean_std(tf.io.decode_jpeg(row[records.ENCODED], channels=3).numpy()
                          for row in _read_split(out, manifest, "train"))
    assert manifest["normalization"]["mean"] == pytest.approx(mean, abs=2e-6)
    assert manifest["normalization"]["std"] == pytest.approx(std, abs=2e-6)


def test_resized_shape_hand_values():
    assert resized_shape(333, 500, 200) == (133, 200)     # 333 * 0.4 = 133.2
    assert resized_shape(500, 375, 100) == (100, 75)
    assert resized_shape(10, 1000, 200) == (2, 200)
    assert resized_shape(1, 1000, 10) == (1, 10)          # never below one pixel
    assert resized_shape(240, 320, 320) == (240, 320)     # already small enough
    assert resized_shape(240, 320, 0) == (240, 320)       # 0 = no limit


def test_max_side_shrinks_and_keeps_aspect(flowers_dir, tmp_path):
    src = _copy_photos(flowers_dir, tmp_path / "src")
    manifest = convert("image_folder", str(src), str(tmp_path / "out"), max_side=100,
                       valid_fraction=0, test_fraction=0)
    expected = sorted(resized_shape(*tf.io.extract_jpeg_shape(p.read_bytes()).numpy()[:2], 100)
                      for p in src.glob("*/*.jpg"))
    rows = _read_split(tmp_path / "out", manifest, "train")
    stored = sorted((int(r[records.HEIGHT]), int(r[records.WIDTH])) for r in rows)
    assert stored == expected and max(max(s) for s in stored) == 100
    for row in rows:
        decoded = tf.io.decode_jpeg(row[records.ENCODED])
        assert tuple(decoded.shape) == (row[records.HEIGHT], row[records.WIDTH], 3)
    assert manifest["splits"]["train"]["reencoded"] == 8
    assert manifest["source"]["max_side"] == 100


def test_truncated_jpeg_and_text_file_are_skipped(flowers_dir, tmp_path):
    src = _copy_photos(flowers_dir, tmp_path / "src")
    photo = next((src / "daisy").glob("*.jpg")).read_bytes()
    (src / "daisy" / "broken.jpg").write_bytes(photo[:len(photo) * 6 // 10])
    (src / "roses" / "notes.txt").write_text("not a photo\n")
    (src / "roses" / ".DS_Store").write_bytes(b"\x00\x01")    # hidden: ignored, not "skipped"
    manifest = convert("image_folder", str(src), str(tmp_path / "out"), valid_fraction=0,
                       test_fraction=0)
    skipped = {entry["path"]: entry["reason"] for entry in manifest["skipped"]}
    assert sorted(skipped) == ["daisy/broken.jpg", "roses/notes.txt"]
    assert "truncated JPEG" in skipped["daisy/broken.jpg"]
    assert "not a JPEG, PNG, BMP or GIF" in skipped["roses/notes.txt"]
    assert manifest["splits"]["train"]["count"] == 8
    assert len(_read_split(tmp_path / "out", manifest, "train")) == 8

    bad_file = r"(daisy/broken\.jpg|roses/notes\.txt)"
    with pytest.raises(EnasError, match=r"--strict: cannot convert " + bad_file):
        convert("image_folder", str(src), str(tmp_path / "strict"), valid_fraction=0,
                test_fraction=0, strict=True)
    assert not (tmp_path / "strict").exists()       # partial shards removed


def test_same_seed_gives_identical_shards(flowers_dir, tmp_path):
    src = _copy_photos(flowers_dir, tmp_path / "src")
    kwargs = dict(num_shards=3, valid_fraction=0, test_fraction=0)
    runs = {name: convert("image_folder", str(src), str(tmp_path / name), seed=seed, **kwargs)
            for name, seed in (("a", 3), ("b", 3), ("c", 4))}
    shards = {name: [s["sha256"] for s in m["splits"]["train"]["shards"]]
              for name, m in runs.items()}
    assert shards["a"] == shards["b"]
    assert shards["a"] != shards["c"]
    assert [s["count"] for s in runs["a"]["splits"]["train"]["shards"]] == [3, 3, 2]
    payload = {name: sorted(_sha(r[records.ENCODED])
                            for r in _read_split(tmp_path / name, runs[name], "train"))
               for name in ("a", "c")}
    assert payload["a"] == payload["c"]            # another seed: same records, other order


def _bmp_24bit(pixels: np.ndarray) -> bytes:
    """A minimal uncompressed BMP (bottom-up rows, BGR, rows padded to 4 bytes)."""
    height, width, _ = pixels.shape
    row_bytes = (width * 3 + 3) // 4 * 4
    body = b"".join(pixels[y, :, ::-1].tobytes().ljust(row_bytes, b"\0")
                    for y in range(height - 1, -1, -1))
    def le(value, size):
        return int(value).to_bytes(size, "little")
    header = (b"BM" + le(54 + len(body), 4) + le(0, 4) + le(54, 4)          # file header
              + le(40, 4) + le(width, 4) + le(height, 4) + le(1, 2) + le(24, 2)   # info header
              + le(0, 24))                                   # BI_RGB, sizes, palette: defaults
    return header + body


# 1x1 GIF89a: palette (white, black), one pixel of index 0 (the GIF format's classic sample).
_GIF_1X1 = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00,\x00\x00\x00\x00\x01\x00"
            b"\x01\x00\x00\x02\x02D\x01\x00;")


def test_formats_kept_or_reencoded_as_rgb():
    flat = np.zeros((4, 6, 3), np.uint8)
    flat[..., 0], flat[..., 1], flat[..., 2] = 200, 100, 50
    rgb_png = tf.io.encode_png(flat).numpy()
    kept = encode_image_bytes(rgb_png)
    assert kept.encoded == rgb_png and not kept.reencoded and (kept.height, kept.width) == (4, 6)

    rgba = np.concatenate([flat, np.full((4, 6, 1), 7, np.uint8)], axis=-1)
    from_rgba = encode_image_bytes(tf.io.encode_png(rgba).numpy())
    assert from_rgba.fmt == "png" and from_rgba.reencoded
    # Alpha dropped, colour exact (PNG stays PNG: lossless).
    np.testing.assert_array_equal(tf.io.decode_png(from_rgba.encoded).numpy(), flat)

    gray = encode_image_bytes(tf.io.encode_jpeg(np.full((5, 5, 1), 90, np.uint8)).numpy())
    assert gray.fmt == "jpeg" and gray.reencoded
    assert jpeg_components(gray.encoded) == 3

    from_bmp = encode_image_bytes(_bmp_24bit(flat))
    assert from_bmp.fmt == "jpeg" and (from_bmp.height, from_bmp.width) == (4, 6)
    decoded = tf.io.decode_jpeg(from_bmp.encoded).numpy().astype(int)
    assert np.abs(decoded - flat).max() <= 3          # quality-95 JPEG of a flat colour

    from_gif = encode_image_bytes(_GIF_1X1)
    assert from_gif.fmt == "jpeg" and (from_gif.height, from_gif.width) == (1, 1)


def test_jpeg_header_helpers():
    rgb = tf.io.encode_jpeg(np.zeros((8, 8, 3), np.uint8)).numpy()
    gray = tf.io.encode_jpeg(np.zeros((8, 8, 1), np.uint8)).numpy()
    assert (jpeg_components(rgb), jpeg_components(gray)) == (3, 1)
    assert jpeg_is_complete(rgb) and jpeg_is_complete(rgb + b"trailing camera data")
    assert not jpeg_is_complete(rgb[:-2]) and not jpeg_is_complete(rgb[:len(rgb) // 2])
    assert [sniff_format(d) for d in (rgb, _GIF_1X1, b"BM..", b"hello")] == ["jpeg", "gif", "bmp",
                                                                             None]


def test_stratified_split_hand_counts():
    labels = [0] * 10 + [1] * 5
    parts = stratified_split(labels, 0.2, 0.2, np.random.default_rng(0))
    # class 0: 10 * 0.2 = 2 valid, 2 test, 6 train; class 1: 5 * 0.2 = 1 valid, 1 test, 3 train.
    assert [len(parts[s]) for s in SPLITS] == [9, 3, 3]
    assert sorted(np.concatenate([parts[s] for s in SPLITS]).tolist()) == list(range(15))
    again = stratified_split(labels, 0.2, 0.2, np.random.default_rng(0))
    assert all((parts[s] == again[s]).all() for s in SPLITS)


def test_split_stats_normalization_hand_value():
    stats = SplitStats(["a", "b"])
    black, white = np.zeros((3, 256), np.int64), np.zeros((3, 256), np.int64)
    black[:, 0], white[:, 255] = 1, 1
    for histogram, label in ((black, 0), (white, 1)):
        stats.add(type("Img", (), {"height": 1, "width": 1, "fmt": "png", "reencoded": True,
                                   "histogram": histogram})(), label)
    assert stats.normalization() == {"mean": [0.5] * 3, "std": [0.5] * 3}


def test_split_folders_layout(flowers_dir, tmp_path):
    for split, per_class in (("train", 3), ("val", 1), ("test", 1)):
        _copy_photos(flowers_dir, tmp_path / "src" / split, per_class=per_class)
    manifest = convert("image_folder", str(tmp_path / "src"), str(tmp_path / "out"))
    assert manifest["source"]["layout"] == "split_folders"
    assert {s: e["count"] for s, e in manifest["splits"].items()} == {"train": 6, "valid": 2,
                                                                      "test": 2}
    with pytest.raises(EnasError, match="already has train/valid/test folders"):
        plan_conversion("image_folder", str(tmp_path / "src"), str(tmp_path / "o2"),
                        valid_fraction=0.2)


def _pool(n_per_class=10, classes=2, shape=(8, 6, 3), seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n_per_class * classes,) + shape, dtype=np.uint8)
    return images, np.repeat(np.arange(classes), n_per_class).astype(np.int32)


def test_arrays_npz_pool_is_split_and_lossless(tmp_path):
    images, labels = _pool()
    np.savez(tmp_path / "a.npz", images=images, labels=labels)
    manifest = convert("arrays", str(tmp_path / "a.npz"), str(tmp_path / "out"))
    # 10 per class at 0.1 → 1 valid and 1 test per class.
    assert {s: e["count"] for s, e in manifest["splits"].items()} == {"train": 16, "valid": 2,
                                                                      "test": 2}
    assert manifest["class_names"] == ["0", "1"]
    by_pixels = {img.tobytes(): int(lab) for img, lab in zip(images, labels)}
    found = []
    for split in SPLITS:
        for row in _read_split(tmp_path / "out", manifest, split):
            decoded = tf.io.decode_png(row[records.ENCODED]).numpy()
            assert row[records.FORMAT] == b"png"
            assert by_pixels[decoded.tobytes()] == row[records.LABEL]     # exact pixels
            found.append(decoded.tobytes())
    assert sorted(found) == sorted(by_pixels)


def test_arrays_pickle_with_ready_splits(tmp_path):
    images, labels = _pool(n_per_class=6, classes=3, shape=(4, 4, 1))
    payload = {"x_train": images[:12], "y_train": labels[:12, None].astype(np.int64),
               "x_test": images[12:], "y_test": labels[12:, None].astype(np.int64),
               "class_names": ["cat", "dog", "owl"]}
    with open(tmp_path / "a.pkl", "wb") as handle:
        pickle.dump(payload, handle)
    plain = convert("arrays", str(tmp_path / "a.pkl"), str(tmp_path / "plain"))
    assert {s: e["count"] for s, e in plain["splits"].items()} == {"train": 12, "test": 6}
    manifest = convert("arrays", str(tmp_path / "a.pkl"), str(tmp_path / "out"),
                       valid_fraction=0.25)
    # valid = last quarter (3) of the 12 training rows, like CIFAR's tail split.
    assert {s: e["count"] for s, e in manifest["splits"].items()} == {"train": 9, "valid": 3,
                                                                      "test": 6}
    assert manifest["class_names"] == ["cat", "dog", "owl"]
    row = _read_split(tmp_path / "out", manifest, "test")[0]
    assert tf.io.decode_png(row[records.ENCODED]).shape == (4, 4, 3)       # gray → RGB


@pytest.mark.parametrize("change, message", [
    (dict(labels=np.linspace(0, 1, 20)), "labels have dtype float64"),
    (dict(labels=np.arange(20) % 2 - 1), "out of range: found -1"),
    (dict(labels=np.arange(20) % 4, class_names=np.array(["a", "b", "c"])),
     "out of range: found 3, but 'class_names' names 3 classes"),
    (dict(labels=np.zeros(20, np.int64)), "only one class"),
    (dict(labels=np.arange(19) % 2), r"labels have shape \(19,\); expected \[20\]"),
    (dict(images=np.zeros((20, 4, 4, 3), np.float32)), "images have dtype float32"),
    (dict(images=np.zeros((20, 4, 4, 2), np.uint8)), "images have shape"),
])
def test_bad_arrays_raise_clear_errors(tmp_path, change, message):
    images, labels = _pool()
    arrays = dict(dict(images=images, labels=labels), **change)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(EnasError, match=message):
        plan_conversion("arrays", str(tmp_path / "bad.npz"), str(tmp_path / "out"))


def test_arrays_missing_keys_and_unreadable_file(tmp_path):
    np.savez(tmp_path / "k.npz", pixels=np.zeros((2, 2, 2, 3), np.uint8))
    with pytest.raises(EnasError, match=r"holds keys \['pixels'\]: expected 'images'"):
        plan_conversion("arrays", str(tmp_path / "k.npz"), str(tmp_path / "out"))
    (tmp_path / "junk.bin").write_bytes(b"\x00junk")
    with pytest.raises(EnasError, match="cannot read .*junk.bin as .npz or pickle"):
        plan_conversion("arrays", str(tmp_path / "junk.bin"), str(tmp_path / "out"))


def _raw_cifar(cifar10_dir, name):
    with open(cifar10_dir / name, "rb") as handle:
        batch = pickle.load(handle, encoding="bytes")
    images = batch[b"data"].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return images, np.asarray(batch[b"labels"])


def test_cifar10_subset(cifar10_dir, tmp_path):
    manifest = convert("cifar10", str(cifar10_dir), str(tmp_path / "out"), valid_fraction=0.1)
    train_images, train_labels = _raw_cifar(cifar10_dir, "data_batch_1")
    assert {s: e["count"] for s, e in manifest["splits"].items()} == {"train": 3600, "valid": 400,
                                                                      "test": 1000}
    # Test per-class counts from the data README; valid = the last 400 training records.
    assert list(manifest["splits"]["test"]["per_class"].values()) == [103, 89, 100, 103, 90, 86,
                                                                       112, 102, 106, 109]
    assert list(manifest["splits"]["valid"]["per_class"].values()) == np.bincount(
        train_labels[3600:], minlength=10).tolist()
    mean, std = _mean_std(train_images[:3600])
    assert manifest["normalization"]["mean"] == pytest.approx(mean, abs=2e-6)
    assert manifest["normalization"]["std"] == pytest.approx(std, abs=2e-6)
    # Record 0 of data_batch_1 (label 6, frog) starts 59, 43, 50, ... in its red plane.
    first = [59, 43, 50, 68, 98, 119, 139, 145, 149, 149]
    frogs = [row for row in _read_split(tmp_path / "out", manifest, "train")
             if row[records.LABEL] == 6]
    assert len(frogs) == manifest["splits"]["train"]["per_class"]["frog"]
    matches = [row for row in frogs
               if tf.io.decode_png(row[records.ENCODED]).numpy()[0, :10, 0].tolist() == first]
    assert len(matches) == 1
    assert (matches[0][records.HEIGHT], matches[0][records.WIDTH]) == (32, 32)
    with pytest.raises(EnasError, match="--test_fraction does not apply to --source=cifar10"):
        plan_conversion("cifar10", str(cifar10_dir), str(tmp_path / "o2"), test_fraction=0.1)


def _make_folder(root, layout):
    for rel, content in layout.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if content is not None:
            path.write_bytes(content)
    return root


def test_bad_folders_and_arguments_raise_clear_errors(tmp_path):
    jpeg = tf.io.encode_jpeg(np.zeros((4, 4, 3), np.uint8)).numpy()
    cases = [
        ("image_folder", tmp_path / "missing", "input folder .*missing does not exist"),
        ("image_folder", _make_folder(tmp_path / "empty", {"LICENSE.txt": b"x"}),
         "has no class sub-folders"),
        ("image_folder", _make_folder(tmp_path / "one", {"cat/a.jpg": jpeg}),
         r"only one class folder \(cat\)"),
        ("image_folder", _make_folder(tmp_path / "hollow", {"cat/a.jpg": jpeg, "dog/.keep": b""}),
         "class folder .*dog has no images"),
        ("image_folder", _make_folder(tmp_path / "tiny", {"cat/a.jpg": jpeg, "cat/b.jpg": jpeg,
                                                          "dog/a.jpg": jpeg, "dog/b.jpg": jpeg}),
         r"--valid_fraction=0.1 leaves the valid split empty with 4 images"),
        ("pictures", tmp_path, "unknown --source 'pictures': expected one of cifar10, "
                               "image_folder, arrays"),
    ]
    for source, path, message in cases:
        with pytest.raises(EnasError, match=message):
            plan_conversion(source, str(path), str(tmp_path / "out"))
    tiny = str(tmp_path / "tiny")
    with pytest.raises(EnasError, match="sum must be below 1"):
        plan_conversion("image_folder", tiny, str(tmp_path / "out"), valid_fraction=0.5,
                        test_fraction=0.5)
    with pytest.raises(EnasError, match=r"--test_fraction=1.5 is out of range"):
        plan_conversion("image_folder", tiny, str(tmp_path / "out"), test_fraction=1.5)
    with pytest.raises(EnasError, match="is inside --input"):
        plan_conversion("image_folder", tiny, str(tmp_path / "tiny" / "out"))
    with pytest.raises(EnasError, match="--num_shards=-1 and --max_side=0 must be 0 or more"):
        convert("image_folder", tiny, str(tmp_path / "out"), num_shards=-1)
    _make_folder(tmp_path / "used", {"manifest.json": b"{}"})
    with pytest.raises(EnasError, match="already holds a converted dataset"):
        plan_conversion("image_folder", tiny, str(tmp_path / "used"), valid_fraction=0,
                        test_fraction=0)


def test_read_manifest(flowers_tfr, tmp_path):
    out, manifest = flowers_tfr
    assert read_manifest(str(out)) == manifest
    with pytest.raises(EnasError, match="an enas-convert output folder"):
        read_manifest(str(tmp_path))


def _cli(*args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-m", "enas_tf2.cli.convert_main", *args],
                          capture_output=True, text=True, env=env, timeout=300)


def test_cli_converts_and_prints_summary(flowers_dir, tmp_path):
    src = _copy_photos(flowers_dir, tmp_path / "src", per_class=2)
    (src / "daisy" / "notes.txt").write_text("not a photo\n")
    result = _cli("--source=image_folder", f"--input={src}", f"--output_dir={tmp_path / 'out'}",
                  "--valid_fraction=0", "--test_fraction=0", "--num_workers=2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("converted 4 images (train 4; 2 classes, 1 skipped)")
    assert "skipped daisy/notes.txt: not a JPEG" in result.stderr
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["splits"]["train"][
        "count"] == 4


@pytest.mark.parametrize("args, message", [
    (["--source=image_folder", "--input=/no/such/folder", "--output_dir=OUT"],
     "error: input folder /no/such/folder does not exist"),
    (["--source=webdataset", "--input=x", "--output_dir=y"],
     "error: unknown --source 'webdataset': expected one of cifar10, image_folder, arrays"),
    (["--source=image_folder", "--num_shards=many"], "error: flag --num_shards=many: "),
])
def test_cli_bad_input_is_one_line(args, message, tmp_path):
    # OUT: a fresh folder (a fixed /tmp path may hold someone's earlier conversion).
    result = _cli(*[a.replace("OUT", str(tmp_path / "out")) for a in args])
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith(message) and "Traceback" not in result.stderr
