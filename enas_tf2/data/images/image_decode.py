"""Decoding one stored image record, as cheaply as the target size allows.

Decoding JPEGs is the input pipeline's bottleneck. libjpeg can scale by 1/2, 1/4 or 1/8 inside
the inverse DCT (``tf.io.decode_jpeg(..., ratio=r)``), skipping most of the IDCT, colour
conversion and upsampling work (entropy decoding remains, so on the ~90 KB flower photos 1/2
saves ~8 %; on large photos much more). Each record is decoded with the largest ratio that still
leaves the image at least as large as the target, so the bilinear resize afterwards only covers
the remaining factor (< 2) and quality is kept.
"""

from __future__ import annotations

from typing import Tuple

import tensorflow as tf

from enas_tf2.data import records

# libjpeg's DCT-domain scale factors; `ratio` must be a Python int, hence one branch per value.
JPEG_RATIOS = (1, 2, 4, 8)


def jpeg_ratio_index(height: tf.Tensor, width: tf.Tensor, image_size: Tuple[int, int]) -> tf.Tensor:
    """Index into `JPEG_RATIOS` of the largest ratio whose decoded image still covers
    ``image_size`` (libjpeg's scaled size is ``ceil(side / ratio)``). int32 scalar."""
    target_h, target_w = image_size
    height = tf.cast(height, tf.int64)
    width = tf.cast(width, tf.int64)
    index = tf.constant(0, tf.int32)
    # The condition is monotone in the ratio, so counting the ratios that fit gives the index.
    for ratio in JPEG_RATIOS[1:]:
        fits = (((height + ratio - 1) // ratio >= target_h)
                & ((width + ratio - 1) // ratio >= target_w))
        index += tf.cast(fits, tf.int32)
    return index


def _decode(encoded: tf.Tensor, is_jpeg: tf.Tensor, jpeg_size, image_size) -> tf.Tensor:
    def decode_jpeg(ratio):
        # The default (accurate integer) IDCT; the fast variants measured no faster here.
        return lambda: tf.io.decode_jpeg(encoded, channels=3, ratio=ratio)

    def jpeg():
        index = jpeg_ratio_index(*jpeg_size(), image_size)
        return tf.switch_case(index, [decode_jpeg(r) for r in JPEG_RATIOS])

    def other():
        # The converter stores JPEG or PNG; decode_image also covers BMP/GIF written by hand.
        return tf.io.decode_image(encoded, channels=3, expand_animations=False)

    return tf.ensure_shape(tf.cond(is_jpeg, jpeg, other), [None, None, 3])


def decode_for_size(encoded: tf.Tensor, image_format: tf.Tensor, height: tf.Tensor,
                    width: tf.Tensor, image_size: Tuple[int, int]) -> tf.Tensor:
    """Decodes one stored image to uint8 ``[h, w, 3]`` RGB with ``h >= image_size[0]`` and
    ``w >= image_size[1]`` where the stored size allows (JPEG: DCT downscaling; PNG and anything
    else: full decode). ``height``/``width`` are the stored size of the encoded image."""
    is_jpeg = tf.strings.regex_full_match(tf.strings.lower(image_format), "jpe?g")
    return _decode(encoded, is_jpeg, lambda: (height, width), image_size)


def decode_bytes_for_size(encoded: tf.Tensor, image_size: Tuple[int, int]) -> tf.Tensor:
    """`decode_for_size` for bare image bytes (no record metadata), e.g. in a serving function:
    the JPEG size is read from its header, so a served image is decoded exactly as the input
    pipeline decodes it for evaluation."""
    def jpeg_size():
        shape = tf.io.extract_jpeg_shape(encoded)
        return shape[0], shape[1]
    return _decode(encoded, tf.io.is_jpeg(encoded), jpeg_size, image_size)


def decode_record(serialized: tf.Tensor,
                  image_size: Tuple[int, int]) -> Tuple[tf.Tensor, tf.Tensor]:
    """Parses one serialised `records` example: ``(uint8 [h, w, 3] image, int32 label)``, the
    image decoded by `decode_for_size` (not yet resized)."""
    features = records.parse_example(serialized)
    image = decode_for_size(features[records.ENCODED], features[records.FORMAT],
                            features[records.HEIGHT], features[records.WIDTH], image_size)
    return image, tf.cast(features[records.LABEL], tf.int32)
