"""`LiteRtPredictor`: classify image files with a ``--format=litert`` export.

Decodes each file as the SavedModel's signature does (`decode_bytes_for_size`), resizes it to
the run's image size, rounds to bytes and runs ONE of the export's ``.tflite`` models with the
LiteRT interpreter: what an app on a phone would do with the same files.
"""

from __future__ import annotations

import json
import os
from typing import List, Sequence

import numpy as np
import tensorflow as tf

from enas_tf2.data.images.image_decode import decode_bytes_for_size
from enas_tf2.data.images.preprocess import resize_images
from enas_tf2.errors import EnasError
from enas_tf2 import litert_runtime
from enas_tf2.tasks.image_classification.litert import MODEL_FILES
from enas_tf2.tasks.image_classification.predictor import (_check_decodable, _read_file,
                                                           answer_cli, check_image_size,
                                                           top_k_entry)
from enas_tf2.tasks.serving import PredictOptions


def _read_json(model_dir: str, name: str, key: str) -> dict:
    try:
        with open(os.path.join(model_dir, name)) as f:
            obj = json.load(f)
        obj[key]   # pylint: disable=pointless-statement
        return obj
    except (OSError, ValueError, KeyError, TypeError):
        raise EnasError(f"--model_dir {model_dir} has no readable {name} with {key!r}") from None


class LiteRtPredictor:
    """Top-k classes of image files from a LiteRT export.

    Args:
      model_dir: an ``enas-export --format=litert`` folder.
      precision: ``int8`` (default, what ships) or ``float32``.
      threads: interpreter threads.
    """

    def __init__(self, model_dir: str, precision: str = "int8", threads: int = 1):
        if precision not in MODEL_FILES:
            raise EnasError(f"unknown --precision={precision!r}: choose "
                            f"{' or '.join(MODEL_FILES)}")
        path = os.path.join(model_dir, MODEL_FILES[precision])
        if not os.path.isfile(path):
            raise EnasError(f"--model_dir {model_dir} has no {MODEL_FILES[precision]}; create "
                            f"it with enas-export --format=litert")
        self.class_names: List[str] = list(_read_json(model_dir, "labels.json",
                                                      "class_names")["class_names"])
        prep = _read_json(model_dir, "preprocessing.json", "image_size")
        self.image_size = tuple(int(v) for v in prep["image_size"])
        with open(path, "rb") as f:
            self.interpreter = litert_runtime.make_interpreter(f.read(), threads)
        self.precision = precision
        self.model_dir = model_dir

    def pixels(self, encoded: bytes) -> np.ndarray:
        """``[1, H, W, 3]`` float pixels holding bytes: decoded, resized, rounded."""
        image = decode_bytes_for_size(tf.constant(encoded), self.image_size)
        image = resize_images(tf.cast(image, tf.float32), self.image_size)
        return np.clip(np.round(image.numpy()), 0, 255)[None].astype(np.float32)

    def probabilities(self, encoded: bytes) -> np.ndarray:
        """Class probabilities ``[num_classes]`` of one encoded image."""
        return litert_runtime.run(self.interpreter, self.pixels(encoded))[0]

    def predict_files(self, paths: Sequence[str], top_k: int = 5) -> List[dict]:
        """Top-k predictions per file, in the format of `Predictor.predict_files`."""
        if top_k < 1:
            raise EnasError(f"--top_k must be at least 1, got {top_k}")
        k = min(top_k, len(self.class_names))
        results = []
        for path in paths:
            blob = _read_file(path)
            check_image_size(path, blob)
            _check_decodable(path, blob)
            row = self.probabilities(blob)
            results.append(top_k_entry(path, row, self.class_names, k))
        return results

    def run_cli(self, inputs: Sequence[str], options: PredictOptions) -> str:
        """`enas-predict`'s answer: the top classes of each image file in `inputs`."""
        return answer_cli(self, inputs, options)
