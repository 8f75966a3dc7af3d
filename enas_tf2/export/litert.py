"""`export_litert`: a trained image-classifier run -> LiteRT models for phones and boards.

The export folder holds (nothing is written into the run folder):

- ``model_float32.tflite``: float weights and activations;
- ``model_int8.tflite``: full-integer quantisation (every op int8), activation ranges calibrated
  on images of the run's own training split;
- both take ONE image, ``[1, H, W, 3]`` pixels already resized (bilinear, aspect ratio not kept)
  to the run's image size: uint8 for the int8 model (raw bytes; its input scale is 1, zero point
  0), float32 holding the same 0..255 values for the float model. Standardisation with the run's
  mean and std is inside both; the output is float32 class probabilities ``[1, C]``. Decoding and
  resizing are left to the caller (LiteRT has no JPEG decoder op); `LiteRtPredictor` does both;
- ``litert.json``: test accuracy of each model on the run's test split (the validation split when
  there is none), the Keras network's accuracy on the same pixels, the int8 drop, the median
  latency of one image on this CPU with the LiteRT interpreter, file sizes and the network's
  parameters and multiply-adds; ``labels.json``, ``preprocessing.json``, ``arch.json``.

The language model stays SavedModel-only (`enas-export` without ``--format``): its recurrent
cell runs a data-dependent loop over the tokens of a line that these models do not cover.
"""

from __future__ import annotations

import os
import shutil
from typing import Dict, Iterator, Tuple

import numpy as np
import tensorflow as tf

from enas_tf2.data.images.augment import standardize
from enas_tf2.errors import EnasError
from enas_tf2.export import litert_convert
from enas_tf2.export.trained_run import TrainedRun, load_trained_run, read_run_config
from enas_tf2.json_file import write_json

REPORT_FILE = "litert.json"
MODEL_FILES = {"float32": "model_float32.tflite", "int8": "model_int8.tflite"}


def _prepare(train_dir: str, export_dir: str, overwrite: bool) -> None:
    source, target = os.path.realpath(train_dir), os.path.realpath(export_dir)
    if source == target or source.startswith(target + os.sep):
        raise EnasError(f"--export_dir {export_dir} would overwrite the training directory "
                        f"{train_dir}; choose a separate folder")
    if os.path.exists(export_dir) and not os.path.isdir(export_dir):
        raise EnasError(f"--export_dir {export_dir} exists and is not a directory")
    if os.path.isdir(export_dir) and os.listdir(export_dir):
        if not overwrite:
            raise EnasError(f"--export_dir {export_dir} is not empty; choose a new folder or "
                            f"pass --overwrite")
        shutil.rmtree(export_dir)
    os.makedirs(export_dir, exist_ok=True)


def _run_data(train_dir: str, data, image_size):
    """The run's `DataBundle`: its data config from ``experiment.json`` (the user's datasets
    when `data` is given, Python API; then the config may be absent)."""
    from enas_tf2.configs.base import DataConfig, OptimizerConfig
    from enas_tf2.ranking.experiment_file import read_experiment
    from enas_tf2.tasks.registry import get_task
    if data is not None and not os.path.isfile(os.path.join(train_dir, "experiment.json")):
        return get_task("image_classification", DataConfig(image_size=image_size, batch_size=16),
                        OptimizerConfig(), inputs=data).build_data(1)
    cfg = read_experiment(train_dir)
    return get_task(cfg.task, cfg.data, cfg.optim, inputs=data).build_data(1)


def _pixels(dataset, bundle) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
    """``(uint8-valued float pixels [B, H, W, 3], labels)`` batches of a standardised split:
    the pipeline's standardisation (with ITS statistics) undone and rounded to bytes, what a
    camera would give."""
    mean = np.asarray(bundle.info["mean"], np.float32)
    std = np.asarray(bundle.info["std"], np.float32)
    for batch in dataset:
        images, labels = batch[0], batch[1]
        pixels = np.clip(np.round((np.asarray(images) * std + mean) * 255.0), 0, 255)
        yield pixels.astype(np.float32), np.asarray(labels).reshape(-1)


def _serving_function(run: TrainedRun):
    def serve(pixels):
        logits = run.net(standardize(pixels, run.mean, run.std), training=False)
        return tf.nn.softmax(tf.cast(logits, tf.float32), axis=-1)
    return serve


def _accuracy(predict, batches) -> Tuple[float, int]:
    correct = count = 0
    for pixels, labels in batches:
        for image, label in zip(pixels, labels):
            correct += int(np.argmax(predict(image[None])) == int(label))
            count += 1
    return correct / max(1, count), count


def export_litert(train_dir: str, export_dir: str, overwrite: bool = False, data=None,
                  threads: int = 1, calibration_images: int = 200,
                  max_eval_images: int = 0, latency_runs: int = 50) -> Dict[str, object]:
    """Writes the float32 and int8 LiteRT models of the trained run `train_dir` into
    `export_dir` with the files listed in the module doc; returns the ``litert.json`` report.

    Args:
      data: the `ImageDatasets` the run was trained on (Python API); None rebuilds the run's
        data from its ``experiment.json``.
      threads: interpreter threads for the latency measurement.
      calibration_images: training images the int8 calibration sees.
      max_eval_images: cap on test images scored per model (0 = the whole split).
      latency_runs: timed invocations per model (the median is reported).
    """
    config = read_run_config(train_dir)
    if config["task"] != "image_classification":
        raise EnasError(f"--format=litert exports image classifiers; {train_dir} is a "
                        f"{config['task']} run, which exports as a SavedModel only (enas-export "
                        f"without --format)")
    if threads < 1 or calibration_images < 1:
        raise EnasError(f"threads ({threads}) and calibration_images ({calibration_images}) "
                        f"must be positive")
    run = load_trained_run(train_dir)
    bundle = _run_data(train_dir, data, run.image_size)
    _prepare(train_dir, export_dir, overwrite)
    height, width = run.image_size
    spec = tf.TensorSpec([1, height, width, 3], tf.float32, name="pixels")
    serve = _serving_function(run)

    def representative():
        seen = 0
        for pixels, _ in _pixels(bundle.train, bundle):
            for image in pixels:
                yield [image[None]]
                seen += 1
                if seen >= calibration_images:
                    return

    models = {p: litert_convert.convert(serve, spec, p, representative if p == "int8" else None)
              for p in litert_convert.PRECISIONS}
    split_name, split = ("test", bundle.test) if bundle.test is not None else ("valid",
                                                                             bundle.valid)
    if max_eval_images:
        split = split.unbatch().take(max_eval_images).batch(100)
    batches = list(_pixels(split, bundle))
    batched = tf.function(serve)     # the Keras network scores a whole batch per call
    correct = sum(int(np.sum(np.argmax(batched(tf.constant(pixels)).numpy(), -1) == labels))
                  for pixels, labels in batches)
    count = sum(len(labels) for _, labels in batches)
    keras_acc = correct / max(1, count)
    report = {"split": split_name, "images": count, "keras_float_accuracy": keras_acc,
              "threads": threads, "interpreter": litert_convert.interpreter_source(),
              "input": {"shape": [1, height, width, 3], "int8_model": "uint8 pixels",
                        "float32_model": "float32 pixels 0..255"},
              "calibration_images": calibration_images, "models": {}}
    for precision, model in models.items():
        path = os.path.join(export_dir, MODEL_FILES[precision])
        with open(path, "wb") as f:
            f.write(model)
        interpreter = litert_convert.make_interpreter(model, threads)
        acc, _ = _accuracy(lambda x, i=interpreter: litert_convert.run(i, x), batches)
        report["models"][precision] = {
            "file": MODEL_FILES[precision], "bytes": len(model), "accuracy": acc,
            "latency_ms": litert_convert.median_latency_ms(interpreter, runs=latency_runs)}
    models_report = report["models"]
    report["int8_accuracy_drop"] = models_report["float32"]["accuracy"] - \
        models_report["int8"]["accuracy"]
    _write_side_files(run, export_dir, report)
    return report


def _write_side_files(run: TrainedRun, export_dir: str, report: dict) -> None:
    from enas_tf2.export.trained_run import space_and_arch
    config = read_run_config(run.train_dir)
    space, arch = space_and_arch(config, run.train_dir, {"use_aux_heads": False})
    from enas_tf2.data.specs import ImageSpec
    spec = ImageSpec(run.image_size[0], run.image_size[1], len(run.class_names))
    cost = space.arch_cost(arch, spec).to_json()
    report["cost"] = cost
    write_json(os.path.join(export_dir, REPORT_FILE), report)
    write_json(os.path.join(export_dir, "arch.json"), dict(run.arch_json, cost=cost))
    write_json(os.path.join(export_dir, "labels.json"),
               {"class_names": run.class_names, "num_classes": len(run.class_names)})
    write_json(os.path.join(export_dir, "preprocessing.json"), {
        "image_size": list(run.image_size), "mean": list(run.mean), "std": list(run.std),
        "note": "the .tflite models take [1, H, W, 3] pixels resized (bilinear, aspect ratio "
                "not kept) to image_size: uint8 for model_int8, float32 0..255 for "
                "model_float32; standardisation is inside"})


def is_litert_export(model_dir: str) -> bool:
    """Whether `model_dir` is a ``--format=litert`` export (holds ``litert.json``)."""
    return os.path.isfile(os.path.join(model_dir, REPORT_FILE))
