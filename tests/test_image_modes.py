"""Hard but valid images: grayscale and CMYK JPEGs, 16-bit, palette and RGBA PNGs are converted to
the right 8-bit RGB (checked pixel by pixel against PIL's reading) and accepted by enas-convert and
enas-predict, not refused."""

import json
import os

import numpy as np
import pytest

from bad_input_cases import Env
from cli_runner import run_cli


@pytest.fixture(scope="module")
def env(tmp_path_factory, cifar10_dir, flowers_dir):
    return Env(tmp_path_factory.mktemp("image_modes"), cifar10_dir, flowers_dir)


def _unusual_images():
    """{name: (file bytes, the RGB pixels a correct reader sees)} of one smooth 48x64 picture
    stored as grayscale JPEG, CMYK JPEG, 16-bit gray and RGB PNG, palette PNG and RGBA PNG."""
    import io

    import tensorflow as tf
    from PIL import Image
    y, x = np.mgrid[0:48, 0:64]
    rgb = np.stack([x * 4, y * 5, (x + y) * 2], -1).astype(np.uint8)
    gray = np.asarray(Image.fromarray(rgb).convert("L"))

    def saved(image, fmt, **kw):
        buf = io.BytesIO()
        image.save(buf, fmt, **kw)
        return buf.getvalue()
    palette = Image.fromarray(rgb).convert("P")
    return {
        "gray.jpg": (saved(Image.fromarray(gray), "JPEG", quality=95),
                     np.repeat(gray[..., None], 3, -1)),
        "cmyk.jpg": (saved(Image.fromarray(rgb).convert("CMYK"), "JPEG", quality=95), rgb),
        "gray16.png": (tf.io.encode_png(tf.constant(gray.astype(np.uint16)[..., None] * 257))
                       .numpy(), np.repeat(gray[..., None], 3, -1)),
        "rgb16.png": (tf.io.encode_png(tf.constant(rgb.astype(np.uint16) * 257)).numpy(), rgb),
        "palette.png": (saved(palette, "PNG"), np.asarray(palette.convert("RGB"))),
        "rgba.png": (saved(Image.fromarray(np.dstack([rgb, np.full((48, 64), 128, np.uint8)])),
                          "PNG"), rgb),
    }


def test_unusual_image_modes_convert_to_the_right_rgb():
    import tensorflow as tf
    from enas_tf2.data.convert.image_encoding import encode_image_bytes
    for name, (data, expected) in _unusual_images().items():
        stored = encode_image_bytes(data)
        assert stored.reencoded, name       # rewritten as 8-bit RGB
        pixels = tf.io.decode_image(stored.encoded, channels=3).numpy().astype(int)
        # JPEG sources are re-encoded as JPEG (lossy): a few levels off; PNG sources are exact.
        tolerance = 8 if name.endswith(".jpg") else 0
        assert np.abs(pixels - expected.astype(int)).max() <= tolerance, name


def test_unusual_image_modes_are_accepted_by_convert_and_predict(env):
    images = _unusual_images()
    folder = env.path("modes")
    for cls in ("a", "b"):
        for name, (data, _) in images.items():
            env.write(os.path.join("modes", cls, name), data)
    out = env.path("modes_tfr")
    proc = run_cli("convert_main", ["--source=image_folder", f"--input={folder}",
                                    f"--output_dir={out}", "--valid_fraction=0",
                                    "--test_fraction=0", "--strict"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    manifest = json.load(open(os.path.join(out, "manifest.json")))
    assert manifest["splits"]["train"]["count"] == 12 and manifest["skipped"] == []
    assert manifest["splits"]["train"]["reencoded"] == 12
    files = [os.path.join(folder, "a", name) for name in sorted(images)]
    proc = run_cli("predict_main", [f"--model_dir={env.export}", "--json", "--top_k=10", *files])
    assert proc.returncode == 0, proc.stderr[-3000:]
    for entry in json.loads(proc.stdout):
        assert sum(c["probability"] for c in entry["top_k"]) == pytest.approx(1.0, abs=1e-4)
