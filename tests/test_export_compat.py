"""Exports written before serving moved into the tasks still load, and today's exports of the
same runs serve the same signatures and the same numbers.

`fixtures/exports_before_task_serving.tar.gz` was written by the code of commit b16672a (export/
dispatching on the task name): a tiny micro image classifier (3 classes, 24x24) and a tiny RNN
language model (8-word vocabulary), each as a run folder (``img_run``, ``lm_run``: run_config.json
and a checkpoint) and as that code's export (``image_export``, ``lm_export``).
"""

import json
import pathlib
import tarfile

import numpy as np
import pytest
import tensorflow as tf

from enas_tf2.export.predictor import load_predictor
from enas_tf2.export.saved_model import export_run
from enas_tf2.tasks.image_classification.predictor import Predictor
from enas_tf2.tasks.language_model.predictor import LmPredictor

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "exports_before_task_serving.tar.gz"
LINES = ["the cat sat on the mat", "the dog sat", "", "N cats"]


@pytest.fixture(scope="module")
def old(tmp_path_factory):
    root = tmp_path_factory.mktemp("old_exports")
    with tarfile.open(FIXTURE) as tar:
        tar.extractall(root, filter="data")
    return root


def _signatures(model_dir):
    loaded = tf.saved_model.load(str(model_dir))
    return {name: ({k: (v.dtype.name, v.shape.as_list())
                    for k, v in fn.structured_input_signature[1].items()},
                   {k: (v.dtype.name, v.shape.as_list()) for k, v in fn.structured_outputs.items()})
            for name, fn in loaded.signatures.items()}


def _png(height, width, seed):
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return tf.io.encode_png(pixels).numpy(), pixels


def test_an_old_image_export_loads_and_a_new_one_serves_the_same(old, tmp_path):
    new = tmp_path / "image_export"
    export_run(str(old / "img_run"), str(new))
    assert _signatures(new) == _signatures(old / "image_export")
    for name in ("labels.json", "preprocessing.json", "arch.json"):
        assert json.loads((new / name).read_text()) == json.loads(
            (old / "image_export" / name).read_text()), name
    images = [_png(30, 50, 0)[0], _png(24, 24, 1)[0], _png(7, 90, 2)[0]]
    old_predictor, new_predictor = (load_predictor(str(old / "image_export")),
                                    load_predictor(str(new)))
    assert isinstance(old_predictor, Predictor) and isinstance(new_predictor, Predictor)
    np.testing.assert_allclose(new_predictor.probabilities(images),
                               old_predictor.probabilities(images), rtol=1e-5, atol=1e-6)
    pixels = tf.constant(np.stack([_png(20, 28, s)[1] for s in (3, 4)]).astype("float32"))
    outputs = [tf.saved_model.load(str(d)).signatures["serving_images"](images=pixels)
               for d in (old / "image_export", new)]
    np.testing.assert_allclose(outputs[1]["probabilities"], outputs[0]["probabilities"],
                               rtol=1e-5, atol=1e-6)
    assert list(outputs[1]["class_names"].numpy()) == list(outputs[0]["class_names"].numpy())


def test_an_old_language_model_export_loads_and_a_new_one_serves_the_same(old, tmp_path):
    new = tmp_path / "lm_export"
    export_run(str(old / "lm_run"), str(new))
    assert _signatures(new) == _signatures(old / "lm_export")
    for name in ("vocab.json", "arch.json"):
        assert json.loads((new / name).read_text()) == json.loads(
            (old / "lm_export" / name).read_text()), name
    old_predictor, new_predictor = (load_predictor(str(old / "lm_export")),
                                    load_predictor(str(new)))
    assert isinstance(old_predictor, LmPredictor) and isinstance(new_predictor, LmPredictor)
    before, after = old_predictor.perplexity(LINES), new_predictor.perplexity(LINES)
    for b, a in zip(before, after):
        assert (a["tokens"], a["unknown_words"]) == (b["tokens"], b["unknown_words"])
        assert a["perplexity"] == pytest.approx(b["perplexity"], rel=1e-5)
    before, after = old_predictor.next_words(LINES, 3), new_predictor.next_words(LINES, 3)
    for b, a in zip(before, after):
        assert [w["word"] for w in a["next_words"]] == [w["word"] for w in b["next_words"]]
        np.testing.assert_allclose([w["probability"] for w in a["next_words"]],
                                   [w["probability"] for w in b["next_words"]], rtol=1e-5)


def test_a_saved_model_no_task_recognises_is_refused_in_one_line(old, tmp_path):
    from enas_tf2.errors import EnasError
    bare = tmp_path / "bare"
    tf.saved_model.save(tf.Module(), str(bare))
    with pytest.raises(EnasError, match="none of the files a task's export adds"):
        load_predictor(str(bare))
