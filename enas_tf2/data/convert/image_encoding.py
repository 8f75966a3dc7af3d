"""Turning one source image (file bytes or a uint8 array) into the bytes a TFRecord stores.

The record keeps the image ENCODED. Original bytes are kept whenever the input pipeline can decode
them to the same RGB pixels cheaply: 8-bit RGB PNGs and 3-component JPEGs that need no resize
(JPEGs keep their DCT-domain downscaling in the pipeline that way). Everything else (BMP, GIF,
grayscale/CMYK JPEG, RGBA/palette/16-bit PNG, arrays, anything shrunk by ``max_side``) is decoded to
RGB and re-encoded: PNG when the source was PNG or an array (lossless), JPEG quality 95 otherwise.

Only TensorFlow decodes and encodes (no Pillow). TF's ops release the GIL, so the converter runs
these functions in a thread pool.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import tensorflow as tf

from enas_tf2.errors import EnasError

JPEG_QUALITY = 95
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}   # frame headers (not DHT/JPG/DAC)


class UnreadableImage(EnasError):
    """A source file that is not a supported image or cannot be decoded completely.

    The converter lists it in the manifest's ``skipped`` list (or stops on it with ``--strict``);
    the message is the reason shown there.
    """


@dataclasses.dataclass(frozen=True)
class EncodedImage:
    """One image ready for `records.encode_example`, plus what the manifest statistics need.

    ``histogram`` is int64 ``[3, 256]``: per RGB channel, how many pixels have each value, taken
    from the pixels as stored (after ``max_side``). Integer counts keep the normalisation
    statistics exact and independent of the order in which threads finish.
    """
    encoded: bytes
    fmt: str           # "jpeg" or "png"
    height: int
    width: int
    reencoded: bool    # False: the source file's own bytes are stored
    histogram: np.ndarray


def sniff_format(data: bytes) -> str | None:
    """Image format from the magic bytes: "jpeg", "png", "bmp", "gif" or None (not supported)."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:2] == b"BM":
        return "bmp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    return None


def jpeg_components(data: bytes) -> int | None:
    """Colour components in a JPEG's frame header (1 gray, 3 YCbCr/RGB, 4 CMYK/YCCK) or None."""
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:          # fill byte before a marker
            pos += 1
            continue
        if marker in _SOF_MARKERS:
            return data[pos + 9] if pos + 9 < len(data) else None
        if marker == 0xDA:          # start of scan before any frame header: malformed
            return None
        pos += 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
    return None


def jpeg_is_complete(data: bytes) -> bool:
    """True if an end-of-image marker follows the last start-of-scan marker.

    Why: libjpeg pads a truncated file with grey and, for progressive JPEGs, TF's decoder can return
    the earlier scans without an error. Inside entropy-coded data a 0xFF byte is always stuffed
    (FF 00) or a restart marker, so FF D9 after the last FF DA is the real end of the image; data
    appended after it (some cameras do) does not matter.
    """
    last_scan = data.rfind(b"\xff\xda")
    return last_scan >= 0 and data.find(b"\xff\xd9", last_scan + 2) >= 0


def _png_is_rgb8(data: bytes) -> bool:
    # IHDR is always the first chunk: bit depth at byte 24, colour type at byte 25 (2 = RGB).
    return len(data) > 25 and data[24] == 8 and data[25] == 2


def _short_tf_message(error: Exception) -> str:
    """A TF op error's first line without the ``{{function_node ...}}`` and ``[Op:...]`` noise."""
    lines = str(getattr(error, "message", None) or error).strip().splitlines()
    text = lines[0] if lines else ""
    text = re.sub(r"\{\{[^}]*\}\}\s*", "", text)
    return re.sub(r"\s*\[Op:\w+\]", "", text).strip() or type(error).__name__


def resized_shape(height: int, width: int, max_side: int) -> tuple[int, int]:
    """(height, width) after shrinking so the longer side is at most ``max_side`` (0 = no limit).

    Keeps the aspect ratio; the longer side becomes exactly ``max_side``; never enlarges.
    """
    if max_side <= 0 or max(height, width) <= max_side:
        return height, width
    scale = max_side / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def _histogram(pixels: np.ndarray) -> np.ndarray:
    flat = pixels.reshape(-1, 3)
    return np.stack([np.bincount(flat[:, c], minlength=256) for c in range(3)]).astype(np.int64)


def _to_rgb(pixels: np.ndarray) -> np.ndarray:
    """uint8 [H, W, C] with C in 1..4 → [H, W, 3]: gray is replicated, alpha is dropped.

    In numpy on purpose: for small images (CIFAR) one eager TF slice costs more than the PNG encode.
    """
    channels = pixels.shape[-1]
    if channels in (1, 2):
        return np.repeat(pixels[..., :1], 3, axis=-1)
    return pixels[..., :3] if channels == 4 else pixels


def _encode(pixels, target: tuple, fmt: str) -> EncodedImage:
    """RGB uint8 pixels (numpy or tensor) → resized to ``target`` (H, W) if needed → ``fmt``."""
    if tuple(pixels.shape[:2]) != tuple(target):
        # Antialiased bilinear: a plain bilinear shrink by 4x or more would alias.
        resized = tf.image.resize(pixels, target, method="bilinear", antialias=True)
        pixels = tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)
    if fmt == "png":
        encoded = tf.io.encode_png(pixels).numpy()
    else:
        encoded = tf.io.encode_jpeg(pixels, quality=JPEG_QUALITY).numpy()
    values = pixels.numpy() if isinstance(pixels, tf.Tensor) else pixels
    return EncodedImage(encoded, fmt, int(target[0]), int(target[1]), True, _histogram(values))


def encode_pixels(pixels, max_side: int = 0, fmt: str = "png") -> EncodedImage:
    """Encodes uint8 pixels ``[H, W, C]`` (C in 1..4) as RGB ``fmt`` ("png" or "jpeg").

    Applies ``max_side`` first (bilinear with antialiasing).
    """
    pixels = _to_rgb(np.asarray(pixels, np.uint8))
    return _encode(pixels, resized_shape(pixels.shape[0], pixels.shape[1], max_side), fmt)


def _jpeg_ratio(height: int, width: int, target: tuple) -> int:
    """Largest DCT downscale (8, 4, 2 or 1) that still decodes at least ``target`` pixels.

    libjpeg then skips most of the inverse DCT work: a 4000x3000 photo shrunk to 512 decodes at
    1/4 size, several times faster, and still reads (so validates) the whole file.
    """
    for ratio in (8, 4, 2):
        if -(-height // ratio) >= target[0] and -(-width // ratio) >= target[1]:
            return ratio
    return 1


def _decode(data: bytes, fmt: str, max_side: int):
    """(RGB pixels, source (height, width), target (height, width)); raises UnreadableImage."""
    try:
        if fmt == "jpeg":
            height, width = (int(v) for v in tf.io.extract_jpeg_shape(data).numpy()[:2])
            target = resized_shape(height, width, max_side)
            # try_recover_truncated=False: a short scan is an error, not grey padding.
            pixels = tf.io.decode_jpeg(data, channels=3, ratio=_jpeg_ratio(height, width, target),
                                       try_recover_truncated=False, acceptable_fraction=1.0)
            return pixels, (height, width), target
        pixels = tf.io.decode_image(data, channels=3, expand_animations=False)
    except tf.errors.OpError as error:    # any decoder failure: the file cannot be used
        raise UnreadableImage(f"corrupt {fmt.upper()} ({_short_tf_message(error)})") from None
    height, width = int(pixels.shape[0]), int(pixels.shape[1])
    return pixels, (height, width), resized_shape(height, width, max_side)


def encode_image_bytes(data: bytes, max_side: int = 0) -> EncodedImage:
    """Validates one image file's bytes by decoding them fully, and returns what to store.

    Raises UnreadableImage (with the reason) for non-images, unsupported formats, truncated or
    corrupt files.
    """
    fmt = sniff_format(data)
    if fmt is None:
        raise UnreadableImage("not a JPEG, PNG, BMP or GIF image")
    if fmt == "jpeg" and not jpeg_is_complete(data):
        raise UnreadableImage("truncated JPEG (no end-of-image marker after the image data)")
    pixels, source_shape, target = _decode(data, fmt, max_side)
    if 0 in source_shape:
        raise UnreadableImage(f"empty {fmt.upper()} image ({source_shape[0]}x{source_shape[1]})")
    keep_original = (target == source_shape
                     and ((fmt == "jpeg" and jpeg_components(data) == 3)
                          or (fmt == "png" and _png_is_rgb8(data))))
    if keep_original:
        return EncodedImage(data, fmt, target[0], target[1], False, _histogram(pixels.numpy()))
    return _encode(pixels, target, "png" if fmt == "png" else "jpeg")


def encode_image_file(path: str, max_side: int = 0) -> EncodedImage:
    """`encode_image_bytes` on a file's contents; an unreadable file becomes UnreadableImage."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise UnreadableImage(f"cannot read file ({error.strerror or error})") from None
    return encode_image_bytes(data, max_side)
