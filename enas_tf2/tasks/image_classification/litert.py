"""An image classifier's LiteRT export (the task's part of `export.litert.export_litert`): a
trained network -> LiteRT models for phones and boards.

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
from typing import Dict, Iterator, Tuple

import numpy as np
import tensorflow as tf

from enas_tf2 import litert_runtime
from enas_tf2.configs.base import DataConfig
from enas_tf2.data.images.augment import standardize
from enas_tf2.json_file import write_json
from enas_tf2.tasks.image_classification.serving import (LABELS_FILE, PREPROCESSING_FILE,
                                                         image_facts)

REPORT_FILE = "litert.json"
MODEL_FILES = {"float32": "model_float32.tflite", "int8": "model_int8.tflite"}


def data_config(run) -> DataConfig:
    """A data config for the user's own datasets (Python API) when the run folder has no
    ``experiment.json`` to rebuild its data from."""
    return DataConfig(image_size=image_facts(run.data)[0], batch_size=16)


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


def _serving_function(run):
    _, mean, std, _ = image_facts(run.data)

    def serve(pixels):
        logits = run.net(standardize(pixels, mean, std), training=False)
        return tf.nn.softmax(tf.cast(logits, tf.float32), axis=-1)
    return serve


def _accuracy(predict, batches) -> Tuple[float, int]:
    correct = count = 0
    for pixels, labels in batches:
        for image, label in zip(pixels, labels):
            correct += int(np.argmax(predict(image[None])) == int(label))
            count += 1
    return correct / max(1, count), count


def export(run, export_dir: str, bundle, cost, threads: int = 1, calibration_images: int = 200,
           max_eval_images: int = 0, latency_runs: int = 50) -> Dict[str, object]:
    """Writes the float32 and int8 LiteRT models of the restored `run` (a generic
    `TrainedRun`) into the empty `export_dir` with the files listed in the module doc; returns
    the ``litert.json`` report.

    Args:
      bundle: the run's `DataBundle` (calibration images from its training split, accuracy on
        its test split).
      cost: the network's `ArchCost` (recorded in the report and ``arch.json``).
      threads: interpreter threads for the latency measurement.
      calibration_images: training images the int8 calibration sees.
      max_eval_images: cap on test images scored per model (0 = the whole split).
      latency_runs: timed invocations per model (the median is reported).
    """
    image_size = image_facts(run.data)[0]
    height, width = image_size
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

    models = {p: litert_runtime.convert(serve, spec, p, representative if p == "int8" else None)
              for p in litert_runtime.PRECISIONS}
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
              "threads": threads, "interpreter": litert_runtime.interpreter_source(),
              "input": {"shape": [1, height, width, 3], "int8_model": "uint8 pixels",
                        "float32_model": "float32 pixels 0..255"},
              "calibration_images": calibration_images, "models": {}}
    for precision, model in models.items():
        path = os.path.join(export_dir, MODEL_FILES[precision])
        with open(path, "wb") as f:
            f.write(model)
        interpreter = litert_runtime.make_interpreter(model, threads)
        acc, _ = _accuracy(lambda x, i=interpreter: litert_runtime.run(i, x), batches)
        report["models"][precision] = {
            "file": MODEL_FILES[precision], "bytes": len(model), "accuracy": acc,
            "latency_ms": litert_runtime.median_latency_ms(interpreter, runs=latency_runs)}
    models_report = report["models"]
    report["int8_accuracy_drop"] = models_report["float32"]["accuracy"] - \
        models_report["int8"]["accuracy"]
    _write_side_files(run, export_dir, report, cost)
    return report


def _write_side_files(run, export_dir: str, report: dict, cost) -> None:
    image_size, mean, std, class_names = image_facts(run.data)
    report["cost"] = cost.to_json()
    write_json(os.path.join(export_dir, REPORT_FILE), report)
    write_json(os.path.join(export_dir, "arch.json"), dict(run.arch_json, cost=report["cost"]))
    write_json(os.path.join(export_dir, LABELS_FILE),
               {"class_names": class_names, "num_classes": len(class_names)})
    write_json(os.path.join(export_dir, PREPROCESSING_FILE), {
        "image_size": list(image_size), "mean": list(mean), "std": list(std),
        "note": "the .tflite models take [1, H, W, 3] pixels resized (bilinear, aspect ratio "
                "not kept) to image_size: uint8 for model_int8, float32 0..255 for "
                "model_float32; standardisation is inside"})


def format_report(report: dict, export_dir: str) -> str:
    """Human-readable lines of a ``litert.json`` report (what `enas-export` prints)."""
    lines = [f"exported LiteRT models to {export_dir} ({report['images']} {report['split']} "
             f"images, {report['threads']} interpreter thread(s), {report['interpreter']}; "
             f"details in {REPORT_FILE}):",
             f"  keras float  accuracy {100 * report['keras_float_accuracy']:.2f}%"]
    for precision, m in report["models"].items():
        lines.append(f"  {precision:<7} {m['file']:<22} accuracy {100 * m['accuracy']:.2f}%  "
                     f"median latency {m['latency_ms']:.3f} ms  {m['bytes'] / 1024:.0f} KiB")
    lines.append(f"  int8 accuracy drop {100 * report['int8_accuracy_drop']:+.2f} points; "
                 f"{report['cost']['params']:,} parameters, {report['cost']['macs_m']} M MACs")
    return "\n".join(lines)


def is_litert_export(model_dir: str) -> bool:
    """Whether `model_dir` is a ``--format=litert`` export (holds ``litert.json``)."""
    return os.path.isfile(os.path.join(model_dir, REPORT_FILE))
