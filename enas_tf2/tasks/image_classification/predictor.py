"""`Predictor`: classify image files with an image classifier's `enas-export` directory (no
enas_tf2 model code needed).

Only the SavedModel's ``serving_default`` signature and ``labels.json`` are used, so a prediction
here is exactly what any TensorFlow Serving client of the export would get.
"""

from __future__ import annotations

import io
import json
import os
from typing import List, Sequence

import numpy as np
import tensorflow as tf

from enas_tf2.errors import EnasError
from enas_tf2.tasks.image_classification.serving import LABELS_FILE, SIGNATURE_ENCODED
from enas_tf2.tasks.serving import PredictOptions, check_export_dir, load_saved_model

_BATCH = 16   # images decoded and scored per signature call


def _read_file(path: str) -> bytes:
    if os.path.isdir(path):
        raise EnasError(f"{path} is a directory, not an image file")
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise EnasError(f"image file {path} does not exist") from None
    except OSError as err:
        raise EnasError(f"cannot read image file {path}: {err.strerror}") from None


# Images above this many pixels are refused before decoding: 100 megapixels are 300 MB as RGB
# bytes and 1.2 GB as the float32 tensor the signature resizes from.
MAX_PIXELS = 100_000_000


def image_size(data: bytes):
    """``(width, height)`` from the image's header, without decoding it (None when the format
    is not recognised)."""
    from PIL import Image
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None        # only the header is read; the size is checked here
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Exception:  # pylint: disable=broad-except  (not an image Pillow knows)
        return None
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def check_image_size(path: str, data: bytes) -> None:
    """EnasError naming `path` and its size if decoding it would need more than `MAX_PIXELS`
    pixels (e.g. a 30000x30000 scan), before TensorFlow tries and runs out of memory."""
    size = image_size(data)
    if size and size[0] * size[1] > MAX_PIXELS:
        raise EnasError(f"{path} is {size[0]}x{size[1]} pixels ({size[0] * size[1] / 1e6:.0f} "
                        f"megapixels), more than the {MAX_PIXELS // 1_000_000} megapixels "
                        f"enas-predict decodes; downscale it first (e.g. to 2000 px on its "
                        f"longer side)")


def _check_decodable(path: str, data: bytes) -> None:
    """EnasError naming `path` if TensorFlow cannot decode it as an image."""
    try:
        tf.io.decode_image(data, channels=3, expand_animations=False)
    except (tf.errors.InvalidArgumentError, ValueError):
        raise EnasError(f"{path} is not a readable image (expected JPEG, PNG, GIF, BMP or WebP)"
                        ) from None


def format_text(predictions) -> str:
    """Human-readable lines: the image path, then ``rank. class_name  probability`` per class."""
    lines = []
    for pred in predictions:
        lines.append(pred["image"])
        width = max(len(c["class_name"]) for c in pred["top_k"])
        for rank, c in enumerate(pred["top_k"], start=1):
            lines.append(f"  {rank}. {c['class_name']:<{width}}  {c['probability']:.4f}")
    return "\n".join(lines)


def top_k_entry(path: str, row: np.ndarray, class_names: Sequence[str], k: int) -> dict:
    """``{"image": path, "top_k": [...]}`` of one image's probabilities, most probable first."""
    order = np.argsort(-row, kind="stable")[:k]
    return {"image": path, "top_k": [
        {"class_id": int(c), "class_name": class_names[c], "probability": float(row[c])}
        for c in order]}


def answer_cli(predictor, inputs: Sequence[str], options: PredictOptions) -> str:
    """`enas-predict`'s answer of an image predictor (SavedModel or LiteRT): the top classes of
    each image file in `inputs`, as text or JSON."""
    if options.text or options.next_words:
        raise EnasError(f"--text and --next_words need a language-model export; "
                        f"{predictor.model_dir} is an image classifier (give image files)")
    if not inputs:
        raise EnasError("no image files given: enas-predict --model_dir=DIR IMAGE [IMAGE ...]")
    predictions = predictor.predict_files(inputs, top_k=options.top_k)
    return json.dumps(predictions, indent=2) if options.json else format_text(predictions)


class Predictor:
    """Loads an export directory and returns top-k classes for image files.

    Args:
      model_dir: an `enas-export` output directory (SavedModel + ``labels.json``).
    """

    def __init__(self, model_dir: str):
        check_export_dir(model_dir)
        try:
            with open(os.path.join(model_dir, LABELS_FILE)) as f:
                self.class_names: List[str] = list(json.load(f)["class_names"])
        except (OSError, ValueError, KeyError):
            raise EnasError(f"--model_dir {model_dir} has no readable {LABELS_FILE} with "
                            f"'class_names'") from None
        self.model_dir = model_dir
        self._loaded = load_saved_model(model_dir, [SIGNATURE_ENCODED])
        self._serve = self._loaded.signatures[SIGNATURE_ENCODED]

    @property
    def num_classes(self) -> int:
        """Number of classes the model scores."""
        return len(self.class_names)

    def probabilities(self, encoded_images: Sequence[bytes]) -> np.ndarray:
        """Class probabilities, float32 ``[len(encoded_images), num_classes]``, for encoded images."""
        if not encoded_images:
            return np.zeros([0, self.num_classes], np.float32)
        outputs = self._serve(images=tf.constant(list(encoded_images), dtype=tf.string))
        return outputs["probabilities"].numpy()

    def predict_files(self, paths: Sequence[str], top_k: int = 5) -> List[dict]:
        """Top-k predictions per file, in input order.

        Returns one dict per path: ``{"image": path, "top_k": [{"class_id": int, "class_name":
        str, "probability": float}, ...]}`` with the most probable class first (``top_k`` is
        capped at the number of classes). Raises EnasError naming the first missing, unreadable
        or non-image file.
        """
        if top_k < 1:
            raise EnasError(f"--top_k must be at least 1, got {top_k}")
        k = min(top_k, self.num_classes)
        results = []
        for start in range(0, len(paths), _BATCH):
            batch_paths = list(paths[start:start + _BATCH])
            data = [_read_file(p) for p in batch_paths]
            for path, blob in zip(batch_paths, data):
                check_image_size(path, blob)
            try:
                probs = self.probabilities(data)
            except tf.errors.InvalidArgumentError:
                # Name the culprit: decode each file of the failed batch on its own.
                for path, blob in zip(batch_paths, data):
                    _check_decodable(path, blob)
                raise
            results += [top_k_entry(path, row, self.class_names, k)
                        for path, row in zip(batch_paths, probs)]
        return results

    def run_cli(self, inputs: Sequence[str], options: PredictOptions) -> str:
        """`enas-predict`'s answer: the top classes of each image file in `inputs`."""
        return answer_cli(self, inputs, options)
