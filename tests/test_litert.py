"""Issue 22: `export_litert` on a trained run -> float32 and int8 ``.tflite`` models; a real
photo through both (and through `enas-predict`) gives the same class, the float model the
Keras network's probabilities; the run folder is left untouched."""

import hashlib
import json
import os

import keras
import numpy as np
import pytest

from cli_runner import run_cli
from test_export import IMAGE_SIZE, write_train_dir


def _digest(folder):
    digest = hashlib.sha256()
    for base, dirs, files in sorted(os.walk(folder)):
        dirs.sort()
        for name in sorted(files):
            with open(os.path.join(base, name), "rb") as f:
                digest.update(name.encode() + f.read())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def litert_export(tmp_path_factory, flowers_dir):
    import enas_tf2
    root = tmp_path_factory.mktemp("litert")
    train_dir, net = write_train_dir(root)
    photos = keras.utils.image_dataset_from_directory(
        str(flowers_dir), image_size=IMAGE_SIZE, batch_size=16, shuffle=False)
    data = enas_tf2.ImageDatasets(train=photos, valid=photos.take(2), test=photos.take(3),
                                  class_names=photos.class_names)
    before = _digest(train_dir)
    report = enas_tf2.export_litert(str(train_dir), str(root / "lite"), data=data,
                                    calibration_images=16, max_eval_images=48, latency_runs=5)
    assert _digest(train_dir) == before            # analysis never edits the run folder
    return root / "lite", report, net


def _photo(flowers_dir, cls="roses"):
    folder = flowers_dir / cls
    return str(folder / sorted(os.listdir(folder))[0])


def test_export_writes_both_models_and_the_report(litert_export):
    folder, report, _ = litert_export
    for name in ("model_float32.tflite", "model_int8.tflite", "litert.json", "labels.json",
                 "preprocessing.json", "arch.json"):
        assert (folder / name).is_file(), name
    assert report["images"] == 48 and report["split"] == "test"
    models = report["models"]
    assert models["int8"]["bytes"] < models["float32"]["bytes"]     # int8 weights
    assert all(m["latency_ms"] > 0 for m in models.values())
    # The float model is the Keras network: the same predictions on the same pixels.
    assert abs(models["float32"]["accuracy"] - report["keras_float_accuracy"]) < 1e-9
    assert json.loads((folder / "arch.json").read_text())["cost"]["params"] > 0


def test_real_photos_int8_agree_with_float_and_keras(litert_export, flowers_dir):
    from enas_tf2.data.images.augment import standardize
    from enas_tf2.tasks.image_classification.litert_predictor import LiteRtPredictor
    folder, _, net = litert_export
    as_float = LiteRtPredictor(str(folder), "float32")
    as_int8 = LiteRtPredictor(str(folder), "int8")
    prep = json.loads((folder / "preprocessing.json").read_text())
    for cls in sorted(p.name for p in flowers_dir.iterdir() if p.is_dir()):   # one per class
        with open(_photo(flowers_dir, cls), "rb") as f:
            blob = f.read()
        p_float, p_int8 = as_float.probabilities(blob), as_int8.probabilities(blob)
        pixels = as_float.pixels(blob)
        keras_probs = keras.ops.softmax(net(standardize(pixels, prep["mean"], prep["std"]),
                                            training=False)).numpy()[0]
        np.testing.assert_allclose(p_float, keras_probs, atol=1e-4)
        # The int8 model's top class is the float model's, up to a tie within the int8 error
        # (this barely trained net is near uniform: its top two can differ by 0.005).
        top_float, top_int8 = int(np.argmax(p_float)), int(np.argmax(p_int8))
        assert top_int8 == top_float or p_float[top_int8] >= p_float[top_float] - 0.03, cls
        # int8 steps of 1/256 and rounding: measured at most 0.014 on these photos; a wrong
        # input quantisation (pixels off by 60) moves them by 0.06-0.16.
        assert np.max(np.abs(p_int8 - p_float)) < 0.03, cls


def test_enas_predict_runs_the_int8_model(litert_export, flowers_dir):
    folder, _, _ = litert_export
    proc = run_cli("predict_main", [f"--model_dir={folder}", "--json", "--top_k=2",
                                    _photo(flowers_dir)])
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout[proc.stdout.index("["):])
    assert len(out) == 1 and len(out[0]["top_k"]) == 2


def test_a_language_model_run_stays_saved_model_only(tmp_path):
    from enas_tf2.errors import EnasError
    from enas_tf2.export.litert import export_litert
    run = tmp_path / "ptb_final"
    run.mkdir()
    (run / "run_config.json").write_text(json.dumps(
        {"search_space": "rnn", "task": "language_model", "arch": {}, "space_config": {},
         "data": {}}))
    with pytest.raises(EnasError, match="exports as a SavedModel only"):
        export_litert(str(run), str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()
