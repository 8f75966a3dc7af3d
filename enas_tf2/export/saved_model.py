"""`export_run`: a trained run directory → a self-contained SavedModel for serving.

For an image classifier the export directory holds (a language model: `lm_saved_model.py`):
- the SavedModel (``saved_model.pb``, ``variables/``) with two signatures:
  ``serving_default``: ``images`` tf.string [B] of encoded JPEG/PNG/GIF/BMP bytes, any size;
  ``serving_images``: ``images`` float32 [B, H, W, 3] pixels in 0..255, any H and W.
  Both decode/resize/standardise INSIDE the graph with the training run's constants (the same
  `preprocess_for_eval` the input pipeline uses for evaluation) and return ``probabilities``
  float32 [B, C], ``classes`` int64 [B] and ``class_names`` string [B].
- ``model.keras``: the bare network (standardised images in, logits out), for Keras users;
- ``arch.json`` (the architecture) with its picture ``arch.png``/``arch.svg``, ``labels.json`` (``class_names``) and ``preprocessing.json``
  (``image_size``, ``mean``, ``std``) needed to feed ``model.keras`` correctly.
"""

from __future__ import annotations

import os
import shutil

import tensorflow as tf

from enas_tf2.data.images.image_decode import decode_bytes_for_size
from enas_tf2.data.images.preprocess import preprocess_for_eval
from enas_tf2.errors import EnasError
from enas_tf2.export.lm_run import load_lm_run
from enas_tf2.export.lm_saved_model import export_lm
from enas_tf2.export.trained_run import TrainedRun, load_trained_run, read_run_config
from enas_tf2.json_file import write_json
from enas_tf2.render import render_arch_files

SIGNATURE_ENCODED = "serving_default"
SIGNATURE_PIXELS = "serving_images"
KERAS_FILE = "model.keras"
ARCH_FILE = "arch.json"
LABELS_FILE = "labels.json"
PREPROCESSING_FILE = "preprocessing.json"
WARNINGS_FILE = "warnings.json"   # health warnings of the trained run (absent when none)


def _serving_functions(run: TrainedRun):
    """The two signature functions, closing over the network and the run's constants."""
    height, width = run.image_size
    names = tf.constant(run.class_names)

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
        image = decode_bytes_for_size(encoded, run.image_size)
        image.set_shape([None, None, 3])
        return preprocess_for_eval(image, run.image_size, run.mean, run.std)

    def serve_encoded(images):
        standardised = tf.map_fn(_decode_one, images,
                                 fn_output_signature=tf.TensorSpec([height, width, 3], tf.float32))
        return _predict(standardised)

    def serve_pixels(images):
        return _predict(preprocess_for_eval(images, run.image_size, run.mean, run.std))

    return serve_encoded, serve_pixels


def _prepare_export_dir(export_dir: str, overwrite: bool) -> None:
    if os.path.exists(export_dir) and not os.path.isdir(export_dir):
        raise EnasError(f"--export_dir {export_dir} exists and is not a directory")
    if os.path.isdir(export_dir) and os.listdir(export_dir):
        if not overwrite:
            raise EnasError(f"--export_dir {export_dir} is not empty; choose a new folder or "
                            f"pass --overwrite")
        shutil.rmtree(export_dir)
    try:
        os.makedirs(export_dir, exist_ok=True)
    except OSError as err:
        raise EnasError(f"cannot create --export_dir {export_dir}: {err.strerror}") from None


def export_trained(run: TrainedRun, export_dir: str) -> None:
    """Writes the SavedModel, ``model.keras`` and the JSON side files of `run` into `export_dir`."""
    serve_encoded, serve_pixels = _serving_functions(run)
    signatures = {
        SIGNATURE_ENCODED: tf.function(serve_encoded).get_concrete_function(
            tf.TensorSpec([None], tf.string, name="images")),
        SIGNATURE_PIXELS: tf.function(serve_pixels).get_concrete_function(
            tf.TensorSpec([None, None, None, 3], tf.float32, name="images")),
    }
    # A plain tf.Module root: the signatures are all we serve. `keras.export.ExportArchive` wrote
    # the same two signatures about 3x slower (15 s vs 5 s for the test network, measured).
    root = tf.Module()
    root.net = run.net
    # Serving needs no gradients; saving the layers' gradient overrides (the max pool's) would
    # trace them out of context and fail.
    tf.saved_model.save(root, export_dir, signatures=signatures,
                        options=tf.saved_model.SaveOptions(experimental_custom_gradients=False))
    run.net.save(os.path.join(export_dir, KERAS_FILE))
    render_arch_files(run.arch, export_dir)
    write_json(os.path.join(export_dir, ARCH_FILE), run.arch_json)
    write_json(os.path.join(export_dir, LABELS_FILE),
                {"class_names": run.class_names, "num_classes": len(run.class_names)})
    write_json(os.path.join(export_dir, PREPROCESSING_FILE), {
        "image_size": list(run.image_size), "mean": list(run.mean), "std": list(run.std),
        "note": "model.keras expects (pixels/255 - mean)/std of images resized (bilinear, "
                "aspect ratio not kept) to image_size [H, W]; the SavedModel does this itself"})


def export_run(train_dir: str, export_dir: str, overwrite: bool = False):
    """Exports the trained network of `train_dir` (``best/`` weights if present) to `export_dir`:
    an image classifier as described above, a language model as `lm_saved_model.py` describes
    (picked by the run's ``task``).

    Raises EnasError when `train_dir` has no run_config.json or no checkpoint, when the checkpoint
    does not fit the configuration, or when `export_dir` is not empty (unless `overwrite`).
    Returns the restored run (`TrainedRun` or `LmTrainedRun`; ``run.summary()`` describes it).
    """
    source, target = os.path.realpath(train_dir), os.path.realpath(export_dir)
    if source == target or source.startswith(target + os.sep):
        raise EnasError(f"--export_dir {export_dir} would overwrite the training directory "
                        f"{train_dir}; choose a separate folder")
    if read_run_config(train_dir)["task"] == "language_model":
        run = load_lm_run(train_dir)
        _prepare_export_dir(export_dir, overwrite)
        export_lm(run, export_dir)
    else:
        run = load_trained_run(train_dir)
        _prepare_export_dir(export_dir, overwrite)
        export_trained(run, export_dir)
    _copy_warnings(train_dir, export_dir)
    return run


def _copy_warnings(train_dir: str, export_dir: str) -> None:
    """The run's health warnings (``result.json``'s ``warnings``, e.g. a network that learned
    nothing) travel with the model as ``warnings.json``: `enas-predict` prints them."""
    from enas_tf2.report.run_folder import read_json_file
    result = read_json_file(os.path.join(train_dir, "result.json"), "result file")
    warnings = result.get("warnings") if isinstance(result, dict) else None
    if warnings:
        write_json(os.path.join(export_dir, WARNINGS_FILE), {"warnings": list(warnings)})
