"""`enas-predict` / `Predictor`: top-k classes of real image files from an export directory."""

import json
import subprocess
import sys

import numpy as np
import pytest

from enas_tf2.cli import predict_main
from enas_tf2.errors import EnasError
from enas_tf2.tasks.image_classification.predictor import Predictor
from enas_tf2.export.saved_model import export_run
from test_export import (FLOWERS, cifar_png, our_lines, pipeline_pixels, reference_probabilities,
                         write_train_dir)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    root = tmp_path_factory.mktemp("predict")
    train_dir, net = write_train_dir(root, seed=5)
    export_dir = root / "exported"
    export_run(str(train_dir), str(export_dir))
    return export_dir, net


@pytest.fixture(scope="module")
def photos(flowers_dir):
    """One real JPEG of three different classes."""
    return [sorted((flowers_dir / name).glob("*.jpg"))[1] for name in ("daisy", "roses", "tulips")]


def _expected(net, path):
    return reference_probabilities(net, pipeline_pixels(path.read_bytes()))


def test_predict_files_top_k_matches_the_in_memory_model(model, photos, cifar10_dir, tmp_path):
    export_dir, net = model
    _, png = cifar_png(cifar10_dir, tmp_path, index=7)
    files = photos + [png]
    predictor = Predictor(str(export_dir))
    assert predictor.class_names == FLOWERS
    results = predictor.predict_files([str(p) for p in files], top_k=3)
    assert [r["image"] for r in results] == [str(p) for p in files]
    for path, result in zip(files, results):
        expected = _expected(net, path)
        order = np.argsort(-expected)[:3]
        assert [c["class_id"] for c in result["top_k"]] == order.tolist()
        assert [c["class_name"] for c in result["top_k"]] == [FLOWERS[i] for i in order]
        np.testing.assert_allclose([c["probability"] for c in result["top_k"]], expected[order],
                                   atol=1e-5)
    # top_k beyond the number of classes is capped: then the probabilities sum to 1.
    full = predictor.predict_files([str(photos[0])], top_k=50)[0]["top_k"]
    assert len(full) == len(FLOWERS)
    assert sum(c["probability"] for c in full) == pytest.approx(1.0, abs=1e-5)


def _run_cli(capsys, *args):
    with pytest.raises(SystemExit) as exit_info:
        predict_main.run(["enas-predict", *args])
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def test_cli_text_and_json_output(model, photos, capsys):
    export_dir, net = model
    code, out, err = _run_cli(capsys, f"--model_dir={export_dir}", "--top_k=2",
                              str(photos[0]), str(photos[1]))
    assert code in (0, None), err
    lines = out.strip().splitlines()
    assert len(lines) == 6 and lines[0] == str(photos[0]) and lines[3] == str(photos[1])
    for block, path in ((lines[1:3], photos[0]), (lines[4:6], photos[1])):
        expected = _expected(net, path)
        for rank, (line, class_id) in enumerate(zip(block, np.argsort(-expected)), start=1):
            name, prob = line.split()[1:]
            assert line.startswith(f"  {rank}. ")
            assert name == FLOWERS[class_id]
            assert float(prob) == pytest.approx(expected[class_id], abs=1e-4)

    code, out, err = _run_cli(capsys, f"--model_dir={export_dir}", "--json", str(photos[2]))
    assert code in (0, None), err
    parsed = json.loads(out)
    assert parsed == Predictor(str(export_dir)).predict_files([str(photos[2])], top_k=5)


def test_errors_are_one_clear_line(model, photos, tmp_path, capsys):
    export_dir, _ = model
    text = tmp_path / "notes.txt"
    text.write_text("this is not a photo\n")
    with pytest.raises(EnasError, match="notes.txt is not a readable image"):
        Predictor(str(export_dir)).predict_files([str(photos[0]), str(text)])
    cases = [
        ([f"--model_dir={export_dir}", str(tmp_path / "missing.jpg")],
         f"error: image file {tmp_path / 'missing.jpg'} does not exist"),
        ([f"--model_dir={tmp_path}", str(photos[0])],
         f"error: --model_dir {tmp_path} holds no SavedModel"),
        ([f"--model_dir={export_dir}"], "error: no image files given"),
        ([f"--model_dir={export_dir}", "--top_k=0", str(photos[0])],
         "error: --top_k must be at least 1"),
        ([f"--model_dir={export_dir}", "--top_k=many", str(photos[0])], "error: flag --top_k="),
    ]
    for args, message in cases:
        code, out, err = _run_cli(capsys, *args)
        assert code == 2 and out == ""
        assert err.strip().splitlines() == [err.strip()] and err.startswith(message), err


def test_console_script_on_a_non_image_file(model, tmp_path):
    export_dir, _ = model
    fake = tmp_path / "fake.jpg"
    fake.write_bytes(b"GIF89a but not really an image at all")
    proc = subprocess.run([sys.executable, "-m", "enas_tf2.cli.predict_main",
                           f"--model_dir={export_dir}", str(fake)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and proc.stdout == ""
    assert our_lines(proc.stderr) == [proc.stderr.strip().splitlines()[-1]]
    assert our_lines(proc.stderr)[0] == (f"error: {fake} is not a readable image (expected JPEG, "
                                         f"PNG, GIF, BMP or WebP)"), proc.stderr
