"""What a new user meets first: help output, no start-up noise, relative paths, a public API that
imports light, and `.keras` exports that load after a plain `import enas_tf2`."""

import os
import subprocess
import sys

import pytest

from cli_runner import TINY_SEARCH, error_lines, run_cli

# TensorFlow / CUDA / oneDNN start-up lines that used to bury the tool's own messages.
NOISE = ("cuInit", "oneDNN custom operations", "All log messages before absl",
         "cpu_feature_guard", "cudart_stub", "This TensorFlow binary is optimized")


@pytest.mark.parametrize("module,groups", [
    ("cnn_main", ["What to run and where:", "Data:", "Controller:"]),
    ("convert_main", []), ("export_main", []), ("predict_main", []),
])
def test_help_prints_own_flags_grouped_and_exits_0(module, groups):
    proc = run_cli(module, ["--help"], timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    for title in groups:
        assert title in out
    assert "--output_dir" in out or "--model_dir" in out
    # absl's logging flags belong under --helpfull only.
    assert "--logtostderr" not in out and "--alsologtostderr" not in out
    full = run_cli(module, ["--helpfull"], timeout=120)
    assert full.returncode == 0 and "logtostderr" in full.stdout


def test_cnn_help_is_fast_and_tensorflow_free():
    code = ("import sys; from enas_tf2.cli import cnn_config; import enas_tf2; "
            "print('tensorflow' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.stdout.strip() == "False", proc.stderr


def test_no_tensorflow_startup_noise_before_our_messages(tmp_path):
    # TensorFlow loads (the flags are fine), then the data is missing: our line must be the only
    # thing on stderr.
    proc = run_cli("cnn_main", TINY_SEARCH + [f"--data_path={tmp_path}/none",
                                              f"--output_dir={tmp_path}/run"], timeout=300)
    assert proc.returncode == 2
    assert len(error_lines(proc)) == 1
    for noise in NOISE:
        assert noise not in proc.stderr, proc.stderr[-2000:]


def test_relative_paths_resolve_against_the_working_directory(tmp_path):
    from enas_tf2.sample_data import flowers_dir
    work = tmp_path / "user"
    work.mkdir()
    proc = subprocess.run([sys.executable, "-m", "enas_tf2.cli.convert_main",
                           "--source=image_folder", f"--input={flowers_dir()}",
                           "--output_dir=my_tfr", "--max_side=32"],
                          cwd=work, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (work / "my_tfr" / "manifest.json").exists()
    # The scripts never change directory: paths a user types mean what they mean in their shell.
    scripts = os.path.join(os.path.dirname(__file__), "..", "scripts")
    for name in os.listdir(scripts):
        if name.endswith(".sh"):
            with open(os.path.join(scripts, name)) as f:
                assert "cd \"$(dirname" not in f.read(), name


def test_quickstart_checks_the_package_before_the_data(tmp_path):
    script = os.path.join(os.path.dirname(__file__), "..", "scripts", "quickstart.sh")
    # A Python without enas_tf2: a fake `python` on PATH that cannot import it.
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "python").write_text("#!/bin/sh\nexec " + sys.executable + " -I -S -c "
                                 "'import sys; sys.exit(1)' \"$@\"\n")
    (fake / "python").chmod(0o755)
    proc = subprocess.run(["bash", script, str(tmp_path / "runs")], capture_output=True,
                          text=True, timeout=60,
                          env=dict(os.environ, PATH=f"{fake}:{os.environ['PATH']}"))
    assert proc.returncode == 2
    assert "not installed" in proc.stderr and "pip install" in proc.stderr
