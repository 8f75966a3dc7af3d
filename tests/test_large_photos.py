"""Real photos through the downsampling stem, as a user runs them: convert, search, final
training, export and predict at 96x128 px (non-square) with ``stem="imagenet"``."""

import dataclasses
import json
import os

import pytest

from cli_runner import error_lines, run_cli
from enas_tf2 import api
from enas_tf2.configs.presets import get_preset
from enas_tf2.data.convert.convert import convert
from enas_tf2.tasks.image_classification.predictor import Predictor

IMAGE_SIZE = (96, 128)


def _tiny(cfg, data_path, output_dir):
    """`cfg` shrunk to seconds: 3 cells of 4 filters, 2 nodes, 2 steps of 8 photos."""
    return cfg.replace(
        space_config=dataclasses.replace(cfg.space_config, num_layers=1, num_cells=2,
                                         out_filters=4, stem="imagenet", use_aux_heads=False),
        data=dataclasses.replace(cfg.data, data_path=data_path, image_size=IMAGE_SIZE,
                                 batch_size=8, eval_batch_size=8),
        controller=dataclasses.replace(cfg.controller, train_steps=1, num_aggregate=1),
        run=dataclasses.replace(cfg.run, output_dir=output_dir, num_epochs=1,
                                max_steps_per_epoch=2, max_eval_batches=1, log_every=1,
                                derive_num_samples=2, steps_per_loop=1))


@pytest.mark.slow
def test_search_final_export_predict_on_real_photos(flowers_dir, tmp_path):
    data = str(tmp_path / "flowers_tfr")
    convert("image_folder", str(flowers_dir), data, max_side=160, seed=0)

    found = api.search(_tiny(get_preset("images_micro_search"), data, str(tmp_path / "search")))
    assert found.arch.num_cells == 2 and os.path.isfile(found.arch_json)

    final = api.train_final(_tiny(get_preset("images_micro_final"), data,
                                  str(tmp_path / "final")), found.arch)
    assert 0.0 <= final.metrics["test_acc"] <= 1.0
    run_config = json.load(open(os.path.join(final.output_dir, "run_config.json")))
    assert run_config["space_config"]["stem"] == "imagenet"
    assert run_config["data"]["image_size"] == list(IMAGE_SIZE)

    export_dir = str(tmp_path / "export")
    api.export_model(final.output_dir, export_dir)
    predictor = Predictor(export_dir)
    # The serving signature is the usual one: encoded image bytes in, probabilities out.
    signature = predictor._serve.structured_input_signature[1]   # pylint: disable=protected-access
    assert list(signature) == ["images"] and signature["images"].shape.as_list() == [None]
    photo = str(sorted((flowers_dir / "tulips").glob("*.jpg"))[0])
    (entry,) = predictor.predict_files([photo], top_k=5)
    probs = [c["probability"] for c in entry["top_k"]]
    assert sorted(c["class_name"] for c in entry["top_k"]) == sorted(
        run_config["data"]["class_names"])
    assert abs(sum(probs) - 1.0) < 1e-4 and probs == sorted(probs, reverse=True)


@pytest.mark.parametrize("search_for", ["micro", "macro"])
def test_cli_says_in_one_line_that_the_images_are_too_small(flowers_dir, tmp_path, search_for):
    photos = tmp_path / "photos"
    for name in ("daisy", "roses"):
        (photos / name).mkdir(parents=True)
        for path in sorted((flowers_dir / name).glob("*.jpg"))[:3]:
            (photos / name / path.name).symlink_to(path)
    data = str(tmp_path / "tfr")
    convert("image_folder", str(photos), data, max_side=64, valid_fraction=0.34,
            test_fraction=0.0, seed=0)
    proc = run_cli("cnn_main", [f"--search_for={search_for}", "--dataset=tfrecord",
                                f"--data_path={data}",
                                "--image_size=24x40", "--child_stem=imagenet", "--batch_size=2",
                                "--eval_batch_size=2", f"--output_dir={tmp_path / 'run'}"],
                   env={"TF_CPP_MIN_LOG_LEVEL": "2"})
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    (line,) = error_lines(proc)
    assert "24x40" in line and "at least 32 px" in line and "--child_stem=cifar" in line
