"""From the command line, as a user would: train the published micro cells on the real CIFAR-10
subset, export, and classify real images with the export in fresh processes."""

import json
import os
import re

import pytest

from cli_runner import error_lines, run_cli

PUBLISHED = "0 2 0 0 0 4 0 1 0 4 1 1 1 0 0 1 0 2 1 1 1 0 1 0 0 3 0 2 1 1 3 1 1 0 0 4 0 3 1 1"
TINY_FINAL = ["--search_for=micro", "--valid_size=200", "--batch_size=16", "--eval_batch_size=50",
              "--child_num_layers=2", "--child_out_filters=4", "--child_use_aux_heads",
              "--child_drop_path_keep_prob=0.6", "--max_steps_per_epoch=3",
              "--max_eval_batches=2", "--log_every=2", "--nocontroller_training"]


def _summary_trainable_params(config) -> int:
    """"Trainable params" as printed by model.summary() for the run's net, rebuilt here."""
    import io
    from contextlib import redirect_stdout

    from enas_tf2.search_space.micro.config import MicroConfig
    from enas_tf2.search_space.micro.space import MicroSpace
    from enas_tf2.data.specs import ImageSpec
    space = MicroSpace(MicroConfig(**config["space_config"]))
    net = space.build_fixed(space.arch_from_json(config["arch"]), ImageSpec(32, 32, 10), 10)
    text = io.StringIO()
    with redirect_stdout(text):
        net.summary()
    match = re.search(r"Trainable params: ([\d,]+)", text.getvalue())
    return int(match.group(1).replace(",", ""))


# Slow (about 40 s): micro final training + export + fresh-process prediction stay in the default
# suite through tests/test_api.py::test_readme_notebook_example_on_real_photos.
@pytest.mark.slow
def test_published_arch_trains_exports_and_predicts(cifar10_dir, flowers_dir, tmp_path):
    train_dir, export_dir = str(tmp_path / "final"), str(tmp_path / "export")
    train = run_cli("cnn_main", TINY_FINAL + [
        f"--data_path={cifar10_dir}", f"--output_dir={train_dir}", "--num_epochs=2",
        f"--child_fixed_arc={PUBLISHED}"])
    assert train.returncode == 0, train.stderr[-3000:]
    config = json.load(open(os.path.join(train_dir, "run_config.json")))
    assert config["arch"]["tokens"] == PUBLISHED
    assert config["data"]["image_size"] == [32, 32] and config["data"]["num_classes"] == 10
    result = json.load(open(os.path.join(train_dir, "result.json")))
    assert 0.0 <= result["test_acc"] <= 1.0 and "best_valid_acc" in result
    rows = [json.loads(line) for line in open(os.path.join(train_dir, "progress.jsonl"))]
    assert [r["epoch"] for r in rows] == [1, 2] and all("valid_acc" in r for r in rows)
    # The log's epoch numbers are the progress rows' numbers.
    assert [int(n) for n in re.findall(r"epoch (\d+)/2 done", train.stderr)] == [1, 2]
    # The logged parameter count is what model.summary() calls "Trainable params" for this net.
    logged = int(re.search(r"([\d,]+) trainable parameters", train.stderr).group(1)
                 .replace(",", ""))
    assert logged == config["num_params"] == _summary_trainable_params(config)

    export = run_cli("export_main", [f"--output_dir={train_dir}", f"--export_dir={export_dir}"])
    assert export.returncode == 0, export.stderr[-3000:]
    assert {"saved_model.pb", "model.keras", "arch.json", "labels.json"} <= set(
        os.listdir(export_dir))

    photo = os.path.join(flowers_dir, "roses", sorted(os.listdir(flowers_dir / "roses"))[0])
    predict = run_cli("predict_main", [f"--model_dir={export_dir}", "--top_k=3", "--json", photo])
    assert predict.returncode == 0, predict.stderr[-3000:]
    (entry,) = json.loads(predict.stdout)
    probs = [c["probability"] for c in entry["top_k"]]
    assert len(probs) == 3 and probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0001
    assert all(c["class_name"] in config["data"]["class_names"] for c in entry["top_k"])


@pytest.mark.parametrize("arch_json,message", [
    ({"search_space": "macro", "tokens": "0"}, "micro"),
    ({"search_space": "micro", "tokens": "0 0 0 0 0 0 0"}, "tokens"),
])
def test_arch_json_of_another_space_or_malformed_is_one_line(cifar10_dir, tmp_path, arch_json,
                                                             message):
    path = tmp_path / "arch.json"
    path.write_text(json.dumps(arch_json))
    proc = run_cli("cnn_main", TINY_FINAL + [f"--data_path={cifar10_dir}",
                                             f"--output_dir={tmp_path}/run", f"--arch_json={path}"])
    assert proc.returncode == 2
    (line,) = error_lines(proc)
    assert message in line and "Traceback" not in proc.stderr
