"""`ImageServing`: how an image classifier is exported and used (the task's `TaskServing`).

The export directory holds, besides what every export has (``model.keras``, ``arch.json`` and
the architecture's pictures):
- the SavedModel with two signatures:
  ``serving_default``: ``images`` tf.string [B] of encoded JPEG/PNG/GIF/BMP bytes, any size;
  ``serving_images``: ``images`` float32 [B, H, W, 3] pixels in 0..255, any H and W.
  Both decode/resize/standardise INSIDE the graph with the training run's constants (the same
  `preprocess_for_eval` the input pipeline uses for evaluation) and return ``probabilities``
  float32 [B, C], ``classes`` int64 [B] and ``class_names`` string [B];
- ``labels.json`` (``class_names``) and ``preprocessing.json`` (``image_size``, ``mean``,
  ``std``), needed to feed ``model.keras`` (standardised images in, logits out) correctly.
"""

from __future__ import annotations

import os
from typing import Dict, Tuple

import numpy as np
import tensorflow as tf

from enas_tf2.data.images.image_decode import decode_bytes_for_size
from enas_tf2.data.images.preprocess import preprocess_for_eval
from enas_tf2.data.specs import ImageSpec
from enas_tf2.errors import EnasError

SIGNATURE_ENCODED = "serving_default"
SIGNATURE_PIXELS = "serving_images"
LABELS_FILE = "labels.json"
PREPROCESSING_FILE = "preprocessing.json"


def image_facts(data: dict) -> Tuple[Tuple[int, int], tuple, tuple, list]:
    """``(image_size, mean, std, class_names)`` of a checked run config's ``data``."""
    height, width = (int(v) for v in data["image_size"])
    return ((height, width), tuple(float(v) for v in data["mean"]),
            tuple(float(v) for v in data["std"]), [str(c) for c in data["class_names"]])


def _serving_functions(run):
    """The two signature functions, closing over the network and the run's constants."""
    image_size, mean, std, class_names = image_facts(run.data)
    names = tf.constant(class_names)

    def _predict(standardised):
        logits = run.net(standardised, training=False)
        probabilities = tf.nn.softmax(tf.cast(logits, tf.float32), axis=-1)
        classes = tf.argmax(probabilities, axis=-1)
        return {"probabilities": probabilities, "classes": classes,
                "class_names": tf.gather(names, classes)}

    def _decode_one(encoded):
        # Images of a batch have different sizes: decode and resize one by one, then stack.
        # Decoded exactly as the input pipeline decodes for evaluation (JPEGs at reduced DCT
        # scale when the target size allows), so served and validated images see the same pixels.
        image = decode_bytes_for_size(encoded, image_size)
        image.set_shape([None, None, 3])
        return preprocess_for_eval(image, image_size, mean, std)

    def serve_encoded(images):
        standardised = tf.map_fn(_decode_one, images, fn_output_signature=tf.TensorSpec(
            [image_size[0], image_size[1], 3], tf.float32))
        return _predict(standardised)

    def serve_pixels(images):
        return _predict(preprocess_for_eval(images, image_size, mean, std))

    return serve_encoded, serve_pixels


class ImageServing:
    """The image classifier's `TaskServing` (see the module docstring for the export)."""

    task = "image_classification"
    inference_overrides = {"use_aux_heads": False}   # export is inference: no aux head

    def check_data(self, data: dict, path: str) -> None:
        for key in ("image_size", "mean", "std", "class_names"):
            if key not in data:
                raise EnasError(f"{path} has no data.{key!r} entry")
        if len(data["image_size"]) != 2 or len(data["mean"]) != 3 or len(data["std"]) != 3:
            raise EnasError(f"{path}: data.image_size must be [H, W] and data.mean/std 3 numbers "
                            f"each")
        if int(data.get("num_classes", len(data["class_names"]))) != len(data["class_names"]):
            raise EnasError(f"{path}: data.num_classes={data['num_classes']} but "
                            f"{len(data['class_names'])} class names")

    def input_spec(self, data: dict) -> ImageSpec:
        height, width = (int(v) for v in data["image_size"])
        num_classes = data.get("num_classes")
        if num_classes is None:
            num_classes = len(data["class_names"])
        return ImageSpec(height, width, int(num_classes))

    def describe_spec(self, spec: ImageSpec) -> str:
        return f"{spec.height}x{spec.width}x3 images, {spec.num_classes} classes"

    def sample_input(self, spec: ImageSpec):
        return np.zeros((1,) + tuple(spec.shape), np.float32)

    def describe(self, run) -> str:
        (height, width), _, _, class_names = image_facts(run.data)
        return f"{run.checkpoint} ({len(class_names)} classes, {height}x{width} input)"

    def signatures(self, run, root) -> Dict[str, object]:
        del root   # the network is all the graph needs
        serve_encoded, serve_pixels = _serving_functions(run)
        return {
            SIGNATURE_ENCODED: tf.function(serve_encoded).get_concrete_function(
                tf.TensorSpec([None], tf.string, name="images")),
            SIGNATURE_PIXELS: tf.function(serve_pixels).get_concrete_function(
                tf.TensorSpec([None, None, None, 3], tf.float32, name="images")),
        }

    def side_files(self, run) -> Dict[str, dict]:
        image_size, mean, std, class_names = image_facts(run.data)
        return {
            LABELS_FILE: {"class_names": class_names, "num_classes": len(class_names)},
            PREPROCESSING_FILE: {
                "image_size": list(image_size), "mean": list(mean), "std": list(std),
                "note": "model.keras expects (pixels/255 - mean)/std of images resized "
                        "(bilinear, aspect ratio not kept) to image_size [H, W]; the SavedModel "
                        "does this itself"}}

    def contents(self) -> str:
        return (f"signatures {SIGNATURE_ENCODED} (encoded image bytes) and {SIGNATURE_PIXELS} "
                f"(float pixels), plus model.keras, arch.json, {LABELS_FILE}, "
                f"{PREPROCESSING_FILE}")

    def is_export(self, model_dir: str) -> bool:
        return os.path.isfile(os.path.join(model_dir, LABELS_FILE))   # SavedModel or LiteRT

    def predictor(self, model_dir: str, options=None):
        from enas_tf2.tasks.image_classification import litert
        if litert.is_litert_export(model_dir):
            from enas_tf2.tasks.image_classification.litert_predictor import LiteRtPredictor
            return LiteRtPredictor(model_dir, options.precision if options else "int8")
        from enas_tf2.tasks.image_classification.predictor import Predictor
        return Predictor(model_dir)

    def litert(self):
        from enas_tf2.tasks.image_classification import litert
        return litert
