"""The Python API as a notebook user drives it: the README's example (search on
`keras.utils.image_dataset_from_directory` of a photo folder, final training, export, predict) on
real photos, plus presets and architecture loading."""

import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import enas_tf2


def test_presets_and_smoke_variants():
    names = enas_tf2.preset_names()
    assert "cifar10_micro_search" in names and "cifar10_micro_search.smoke" in names
    full, smoke = (enas_tf2.get_preset("cifar10_micro_search"),
                   enas_tf2.get_preset("cifar10_micro_search.smoke"))
    # The authors' cifar10_micro_search.sh values (docs/enas_reference.md §4.5).
    assert (full.space_config.num_layers, full.space_config.out_filters) == (6, 20)
    assert (full.data.batch_size, full.run.num_epochs, full.controller.lr) == (160, 150, 0.0035)
    assert full.controller.train_steps * full.controller.num_aggregate == 300
    assert smoke.space_config.num_layers < full.space_config.num_layers
    assert smoke.run.max_steps_per_epoch > 0
    with pytest.raises(enas_tf2.EnasError, match="unknown --config"):
        enas_tf2.get_preset("nope")


def test_load_and_parse_arch(tmp_path):
    tokens = "0 2 0 0 0 4 0 1 0 4 1 1 1 0 0 1 0 2 1 1 1 0 1 0 0 3 0 2 1 1 3 1 1 0 0 4 0 3 1 1"
    arch = enas_tf2.parse_arch("micro", tokens)
    (tmp_path / "arch.json").write_text(json.dumps(arch.to_json()))
    assert enas_tf2.load_arch(str(tmp_path)) == arch
    assert enas_tf2.load_arch(str(tmp_path / "arch.json")).tokens() == tokens
    with pytest.raises(enas_tf2.EnasError, match="cannot read"):
        enas_tf2.load_arch(str(tmp_path / "missing.json"))


def test_readme_notebook_example_on_real_photos(flowers_dir, tmp_path):
    """The README's notebook example, verbatim in spirit, with CPU-sized settings."""
    import keras

    # --- the example ---
    train = keras.utils.image_dataset_from_directory(
        str(flowers_dir), validation_split=0.2, subset="training", seed=1,
        image_size=(48, 48), batch_size=16)
    valid = keras.utils.image_dataset_from_directory(
        str(flowers_dir), validation_split=0.2, subset="validation", seed=1,
        image_size=(48, 48), batch_size=16)
    data = enas_tf2.ImageDatasets(train=train, valid=valid)

    cfg = enas_tf2.get_preset("cifar10_micro_search.smoke")
    cfg = cfg.replace(
        data=dataclasses.replace(cfg.data, batch_size=16, eval_batch_size=20),
        space_config=dataclasses.replace(cfg.space_config, num_layers=1, out_filters=4),
        run=dataclasses.replace(cfg.run, output_dir=str(tmp_path / "search"), num_epochs=1,
                                max_steps_per_epoch=3, derive_num_samples=3))
    found = enas_tf2.search(cfg, data=data)
    print(found.arch.describe())

    final_cfg = enas_tf2.get_preset("cifar10_micro_final.smoke")
    final_cfg = final_cfg.replace(
        data=dataclasses.replace(final_cfg.data, batch_size=16, eval_batch_size=20),
        space_config=dataclasses.replace(final_cfg.space_config, num_layers=1, out_filters=4),
        run=dataclasses.replace(final_cfg.run, output_dir=str(tmp_path / "final"),
                                num_epochs=1, max_steps_per_epoch=4))
    final = enas_tf2.train_final(final_cfg, found.arch, data=data)
    export_dir = enas_tf2.export_model(final.output_dir, str(tmp_path / "export"))
    photo = next(p for p in sorted((flowers_dir / "roses").iterdir()) if p.suffix == ".jpg")
    predictor = enas_tf2.load_predictor(export_dir)          # the export's task picks it
    top = predictor.predict_files([str(photo)], top_k=3)
    # --- end of the example ---

    assert [c["class_name"] for c in top[0]["top_k"]][0] in train.class_names
    assert len(top[0]["top_k"]) == 3 and sum(c["probability"] for c in top[0]["top_k"]) <= 1.0001

    assert os.path.exists(found.arch_json) and found.arch.search_space == "micro"
    assert "random_mean_reward" in found.derive
    # The result is the best of the derive candidates (not merely a number in [0, 1]).
    rows = [json.loads(line) for line in open(os.path.join(found.output_dir, "archs.jsonl"))]
    derived = [r for r in rows if r["kind"] == "derive"]
    assert len(derived) == 3                                   # derive_num_samples=3
    best = max(derived, key=lambda r: r["reward"])
    assert (found.arch.tokens(), found.reward) == (best["tokens"], best["reward"])
    assert final.num_params > 0 and "best_valid_acc" in final.metrics
    run_config = json.load(open(os.path.join(final.output_dir, "run_config.json")))
    assert run_config["data"]["class_names"] == train.class_names
    assert run_config["data"]["image_size"] == [48, 48]

    # The export answers a real photo in a fresh process with only TensorFlow.
    code = ("import sys, tensorflow as tf; m = tf.saved_model.load(sys.argv[1]); "
            "out = m.signatures['serving_default'](images=tf.constant([open(sys.argv[2], 'rb')"
            ".read()])); print(out['probabilities'].shape, out['class_names'].numpy()[0].decode())")
    proc = subprocess.run([sys.executable, "-c", code, export_dir, str(photo)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    shape, name = proc.stdout.strip().rsplit(" ", 1)
    assert shape == "(1, 5)" and name in train.class_names

    # model.keras loads with plain Keras after `import enas_tf2`, in a fresh process.
    code = ("import enas_tf2, tensorflow, keras, numpy as np, sys; "
            "m = keras.models.load_model(sys.argv[1]); "
            "print(m(np.zeros((2, 48, 48, 3), 'float32')).shape)")
    proc = subprocess.run([sys.executable, "-c", code, os.path.join(export_dir, "model.keras")],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().endswith("(2, 5)")
    assert np.isfinite(final.metrics["best_valid_acc"])
