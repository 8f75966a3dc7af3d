"""Augmentation functions: hand-checkable geometry, seeded determinism, eager == Dataset.map."""

import numpy as np
import pytest
import tensorflow as tf

from enas_tf2.data.images import augment


def _ramp_image(height, width):
    """Distinct positive values everywhere, so a crop can be located inside the padded image."""
    values = np.arange(1, height * width * 3 + 1, dtype=np.float32).reshape(height, width, 3)
    return tf.constant(values)


@pytest.mark.parametrize("size, pad", [(32, 4), (160, 20), (224, 28), (100, 12), (8, 1)])
def test_pad_amount_is_an_eighth_of_the_side(size, pad):
    assert augment.pad_amount(size) == pad


def test_pad_and_crop_is_a_window_of_the_zero_padded_image():
    image = _ramp_image(8, 6)
    padded = np.pad(image.numpy(), [(2, 2), (1, 1), (0, 0)])
    seen = set()
    for s in range(40):
        out = augment.pad_and_random_crop(image, 2, 1, [s, 7]).numpy()
        assert out.shape == (8, 6, 3)
        matches = [(dy, dx) for dy in range(5) for dx in range(3)
                   if np.array_equal(out, padded[dy:dy + 8, dx:dx + 6])]
        assert len(matches) == 1
        seen.add(matches[0])
    # 40 seeds over 15 possible offsets: the offsets are spread, both extremes included.
    assert len(seen) >= 10
    assert {dy for dy, _ in seen} == {0, 1, 2, 3, 4}


def test_same_seed_same_crop_different_seed_different_crop():
    image = _ramp_image(32, 32)
    first = augment.pad_and_random_crop(image, 4, 4, [3, 4]).numpy()
    again = augment.pad_and_random_crop(image, 4, 4, tf.constant([3, 4])).numpy()
    np.testing.assert_array_equal(first, again)
    others = [augment.pad_and_random_crop(image, 4, 4, [s, 4]).numpy() for s in range(5, 10)]
    assert any(not np.array_equal(first, o) for o in others)


def test_flip_is_identity_or_mirror_about_half_the_time():
    image = _ramp_image(4, 5)
    flips = 0
    for s in range(200):
        out = augment.random_flip_left_right(image, [s, 0]).numpy()
        if np.array_equal(out, image.numpy()[:, ::-1]):
            flips += 1
        else:
            np.testing.assert_array_equal(out, image.numpy())
    assert 70 <= flips <= 130


def test_standardize_hand_values():
    # Pixel 127.5 with mean 0.5/std 0.25 -> 0; pixel 255 -> (1 - 0.5) / 0.25 = 2;
    # pixel 0 with mean 0.2/std 0.1 -> -2.
    image = tf.constant([[[127.5, 255.0, 0.0]]])
    out = augment.standardize(image, (0.5, 0.5, 0.2), (0.25, 0.25, 0.1)).numpy()
    np.testing.assert_allclose(out, [[[0.0, 2.0, -2.0]]], atol=1e-6)


def test_cutout_zeroes_a_corner_anchored_square_clipped_at_the_border():
    image = tf.ones([32, 32, 3])
    areas = set()
    for s in range(60):
        out = augment.cutout(image, 16, [s, 1]).numpy()
        hole = out[..., 0] == 0
        assert np.array_equal(hole, out[..., 2] == 0)
        rows, cols = np.nonzero(hole)
        top, left = rows.min(), cols.min()
        expected = np.zeros([32, 32], bool)
        expected[top:min(top + 16, 32), left:min(left + 16, 32)] = True
        np.testing.assert_array_equal(hole, expected)
        areas.add(int(hole.sum()))
    assert 256 in areas                    # a full square when the corner is far from the border
    assert min(areas) < 256                # clipped squares near the bottom/right border


def test_cutout_size_zero_is_identity():
    image = _ramp_image(6, 6)
    np.testing.assert_array_equal(augment.cutout(image, 0, [1, 2]).numpy(), image.numpy())


def test_augment_for_train_eager_tf_function_and_dataset_map_agree():
    mean, std = (0.4, 0.5, 0.6), (0.2, 0.25, 0.3)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(6, 40, 24, 3)).astype(np.float32)
    seeds = np.stack([np.full(6, 11), np.arange(6)], axis=1).astype(np.int64)

    eager = [augment.augment_for_train(tf.constant(im), sd, mean, std, cutout_size=8).numpy()
             for im, sd in zip(images, seeds)]
    graph_fn = tf.function(lambda im, sd: augment.augment_for_train(im, sd, mean, std, 8))
    traced = [graph_fn(tf.constant(im), tf.constant(sd)).numpy() for im, sd in zip(images, seeds)]
    mapped = list(tf.data.Dataset.from_tensor_slices((images, seeds)).map(
        lambda im, sd: augment.augment_for_train(im, sd, mean, std, 8),
        num_parallel_calls=2, deterministic=True).as_numpy_iterator())
    for a, b, c in zip(eager, traced, mapped):
        assert a.shape == (40, 24, 3)
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
        np.testing.assert_allclose(a, c, rtol=0, atol=1e-6)


def test_augment_for_train_composition_matches_its_parts():
    """Standardise, pad 5/3 (round(40/8), round(24/8)), crop, flip, cutout; split seeds."""
    mean, std = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)
    image = _ramp_image(40, 24)
    seed = tf.constant([5, 9], tf.int64)
    geometry_seed, cut_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(geometry_seed, 2))
    expected = augment.pad_and_random_crop(augment.standardize(image, mean, std), 5, 3, crop_seed)
    expected = augment.random_flip_left_right(expected, flip_seed)
    expected = augment.cutout(expected, 6, cut_seed)
    out = augment.augment_for_train(image, seed, mean, std, cutout_size=6)
    np.testing.assert_allclose(out.numpy(), expected.numpy(), atol=1e-6)


def test_padding_is_the_channel_mean_as_in_the_original():
    """The original standardised first and zero-padded after: the border is the channel mean
    (0 once standardised), not black ((0 - mean) / std). A white 32x32 image with mean 0.5 and
    std 0.25 standardises to 2 everywhere; a shifted crop shows 0 in its border strips."""
    white = tf.fill([32, 32, 3], 255.0)
    borders = 0
    for s in range(20):
        out = augment.augment_for_train(white, [s, 3], (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)).numpy()
        values = set(np.unique(np.round(out, 5)).tolist())
        assert values <= {0.0, 2.0}, values                       # never black, -2
        border = out[..., 0] == 0.0
        borders += int(border.any())
        # Border pixels form whole rows/columns at the edges (a window shifted by <= 4 px).
        rows, cols = border.all(axis=1), border.all(axis=0)
        np.testing.assert_array_equal(border, rows[:, None] | cols[None, :])
        assert rows.sum() <= 4 and cols.sum() <= 4
    assert borders >= 15     # offsets are uniform in [0, 8]^2; only (4, 4) gives no border


def test_standardize_uint8_and_float_paths_agree():
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, size=(2, 5, 4, 3)).astype(np.uint8)
    mean, std = (0.49, 0.48, 0.45), (0.25, 0.24, 0.26)
    expected = (pixels / 255.0 - np.array(mean)) / np.array(std)
    from_uint8 = augment.standardize(tf.constant(pixels), mean, std)
    from_float = augment.standardize(tf.constant(pixels, tf.float32), mean, std)
    assert from_uint8.dtype == tf.float32 and from_float.dtype == tf.float32
    np.testing.assert_allclose(from_uint8.numpy(), expected, atol=2e-6)
    np.testing.assert_allclose(from_float.numpy(), expected, atol=2e-6)
    np.testing.assert_allclose(augment.standardize(tf.constant(pixels[0]), mean, std).numpy(),
                               expected[0], atol=2e-6)
    # Unknown height/width (per-channel broadcast path) gives the same values.
    dynamic = tf.function(lambda x: augment.standardize(x, mean, std),
                          input_signature=[tf.TensorSpec([None, None, 3], tf.uint8)])
    np.testing.assert_allclose(dynamic(tf.constant(pixels[1])).numpy(), expected[1], atol=2e-6)


def test_crop_and_flip_keeps_uint8_and_shape():
    image = tf.constant(np.arange(32 * 32 * 3, dtype=np.int64).reshape(32, 32, 3) % 251, tf.uint8)
    out = augment.crop_and_flip(image, [1, 2])
    assert out.dtype == tf.uint8 and out.shape == (32, 32, 3)
    again = augment.crop_and_flip(image, [1, 2])
    np.testing.assert_array_equal(out.numpy(), again.numpy())


def test_generator_seeds_are_reproducible():
    image = _ramp_image(16, 16)
    a = augment.pad_and_random_crop(image, 2, 2, tf.random.Generator.from_seed(123)).numpy()
    b = augment.pad_and_random_crop(image, 2, 2, tf.random.Generator.from_seed(123)).numpy()
    np.testing.assert_array_equal(a, b)
