"""CIFAR-10 reader on the real subset: pickle, binary and tfds layouts, and its error messages."""

import pickle

import numpy as np
import pytest

from enas_tf2.data.images.cifar10 import load_cifar10
from enas_tf2.errors import EnasError

# Per-class counts and first labels published in shared/data/README.md.
TRAIN_PER_CLASS = [396, 366, 420, 384, 422, 393, 414, 385, 407, 413]
TEST_PER_CLASS = [103, 89, 100, 103, 90, 86, 112, 102, 106, 109]
FIRST_TRAIN_LABELS = [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]
FIRST_TEST_LABELS = [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]
FIRST_RED_VALUES = [59, 43, 50, 68, 98, 119, 139, 145, 149, 149]


@pytest.fixture(scope="module")
def real(cifar10_dir):
    return load_cifar10(str(cifar10_dir))


def test_real_pickle_subset(real):
    assert real.train_images.shape == (4000, 32, 32, 3) and real.train_images.dtype == np.uint8
    assert real.test_images.shape == (1000, 32, 32, 3)
    assert real.train_labels.dtype == np.int64
    assert np.bincount(real.train_labels, minlength=10).tolist() == TRAIN_PER_CLASS
    assert np.bincount(real.test_labels, minlength=10).tolist() == TEST_PER_CLASS
    assert real.train_labels[:10].tolist() == FIRST_TRAIN_LABELS
    assert real.test_labels[:10].tolist() == FIRST_TEST_LABELS
    # The file stores the red plane first: record 0's first row of red values.
    assert real.train_images[0, 0, :10, 0].tolist() == FIRST_RED_VALUES
    assert real.class_names[0] == "airplane" and real.class_names[9] == "truck"


def test_planar_to_nhwc_matches_the_raw_record(real, cifar10_dir):
    with open(cifar10_dir / "data_batch_1", "rb") as f:
        raw = pickle.load(f, encoding="bytes")
    row = raw[b"data"][123]
    # Pixel (y=5, x=7): red at 5*32+7, green 1024 later, blue 2048 later.
    assert real.train_images[123, 5, 7].tolist() == [row[167], row[1024 + 167], row[2048 + 167]]


def test_parent_folder_works(real, cifar10_dir):
    parent = load_cifar10(str(cifar10_dir.parent))
    np.testing.assert_array_equal(parent.test_images, real.test_images)


def _write_bin_folder(folder, arrays):
    folder.mkdir()
    for name, images, labels in (("data_batch_1.bin", arrays.train_images, arrays.train_labels),
                                 ("test_batch.bin", arrays.test_images, arrays.test_labels)):
        planar = images.transpose(0, 3, 1, 2).reshape(len(labels), -1)
        records = np.concatenate([labels[:, None].astype(np.uint8), planar], axis=1)
        records.tofile(str(folder / name))
    (folder / "batches.meta.txt").write_text("\n".join(arrays.class_names) + "\n\n")


def test_binary_batches_give_the_same_arrays(real, tmp_path):
    _write_bin_folder(tmp_path / "cifar-10-batches-bin", real)
    for path in (tmp_path, tmp_path / "cifar-10-batches-bin"):
        loaded = load_cifar10(str(path))
        np.testing.assert_array_equal(loaded.train_images, real.train_images)
        np.testing.assert_array_equal(loaded.train_labels, real.train_labels)
        np.testing.assert_array_equal(loaded.test_images, real.test_images)
        assert loaded.class_names == real.class_names


def test_training_batches_load_in_numeric_order(real, tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for number, sl in ((2, slice(0, 10)), (10, slice(10, 20)), (1, slice(20, 30))):
        planar = real.train_images[sl].transpose(0, 3, 1, 2).reshape(10, -1)
        with open(folder / f"data_batch_{number}", "wb") as f:
            pickle.dump({"data": planar, "labels": real.train_labels[sl].tolist()}, f)
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({b"data": real.test_images[:5].transpose(0, 3, 1, 2).reshape(5, -1),
                     b"labels": real.test_labels[:5].tolist()}, f)
    loaded = load_cifar10(str(tmp_path))
    # 1, 2, 10 (numeric, not lexicographic 1, 10, 2).
    expected = np.concatenate([real.train_labels[20:30], real.train_labels[0:10],
                               real.train_labels[10:20]])
    np.testing.assert_array_equal(loaded.train_labels, expected)
    assert loaded.class_names[3] == "cat"      # no batches.meta: the standard names


def test_prepared_tfds_dataset(real, tmp_path):
    tfds = pytest.importorskip("tensorflow_datasets")
    train_x, train_y = real.train_images[:30], real.train_labels[:30]
    test_x, test_y = real.test_images[:10], real.test_labels[:10]

    with tfds.core.registered.skip_registration():
        class Cifar10(tfds.core.GeneratorBasedBuilder):   # same name and features as tfds' own
            VERSION = tfds.core.Version("3.0.2")

            def _info(self):
                return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict({
                    "id": tfds.features.Text(),
                    "image": tfds.features.Image(shape=(32, 32, 3)),
                    "label": tfds.features.ClassLabel(names=real.class_names)}))

            def _split_generators(self, dl_manager):
                return {"train": self._generate_examples(train_x, train_y),
                        "test": self._generate_examples(test_x, test_y)}

            def _generate_examples(self, images, labels):
                for i, (image, label) in enumerate(zip(images, labels)):
                    yield i, {"id": f"r{i}", "image": image, "label": int(label)}

    Cifar10(data_dir=str(tmp_path)).download_and_prepare()
    loaded = load_cifar10(str(tmp_path))
    assert loaded.train_images.shape == (30, 32, 32, 3) and loaded.class_names == real.class_names
    # tfds stores records in its own (hashed) order: compare as sets of (image, label) pairs.
    def pairs(images, labels):
        return sorted(image.tobytes() + bytes([label]) for image, label in zip(images, labels))
    assert pairs(loaded.train_images, loaded.train_labels) == pairs(train_x, train_y)
    assert pairs(loaded.test_images, loaded.test_labels) == pairs(test_x, test_y)


def test_missing_and_empty_paths(tmp_path):
    with pytest.raises(EnasError, match="does not exist"):
        load_cifar10(str(tmp_path / "nowhere"))
    with pytest.raises(EnasError, match="no CIFAR-10 data found"):
        load_cifar10(str(tmp_path))
    with pytest.raises(EnasError, match="no CIFAR-10 --data_path"):
        load_cifar10("")


def test_missing_test_batch_is_named(real, tmp_path):
    _write_bin_folder(tmp_path / "cifar-10-batches-bin", real)
    (tmp_path / "cifar-10-batches-bin" / "test_batch.bin").unlink()
    with pytest.raises(EnasError, match="test_batch.bin.*missing"):
        load_cifar10(str(tmp_path))


def test_truncated_binary_batch_is_named(real, tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    _write_bin_folder(folder, real)
    data = (folder / "data_batch_1.bin").read_bytes()
    (folder / "data_batch_1.bin").write_bytes(data[:-100])
    with pytest.raises(EnasError, match="data_batch_1.bin.*truncated"):
        load_cifar10(str(folder))


def test_corrupt_pickle_is_named(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    (folder / "data_batch_1").write_bytes(b"\x80\x02not a pickle at all")
    with pytest.raises(EnasError, match="data_batch_1.*not a readable pickle"):
        load_cifar10(str(tmp_path))
