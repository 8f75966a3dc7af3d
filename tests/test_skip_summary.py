"""tests/conftest.py names ENAS_SHARED_DATA in one summary line when data tests were skipped."""

import os
import pathlib
import shutil
import subprocess
import sys

CONFTEST = pathlib.Path(__file__).with_name("conftest.py")


def _run(folder, data_dir):
    env = dict(os.environ, ENAS_SHARED_DATA=str(data_dir))
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(folder)], capture_output=True, text=True, env=env, timeout=120,
                          cwd=folder)


def test_skipped_data_tests_print_one_line_naming_the_variable(tmp_path):
    shutil.copy(CONFTEST, tmp_path / "conftest.py")
    (tmp_path / "test_uses_data.py").write_text(
        "def test_a(ptb_dir):\n    assert ptb_dir.exists()\n\n"
        "def test_b(cifar10_dir):\n    assert cifar10_dir.exists()\n\n"
        "def test_c():\n    assert 1 + 1 == 2\n")
    missing = _run(tmp_path, tmp_path / "no_data_here")
    lines = [l for l in missing.stdout.splitlines() if "ENAS_SHARED_DATA" in l]
    assert lines == [f"2 test(s) needing the real data were SKIPPED: nothing at "
                     f"{tmp_path / 'no_data_here'}; set ENAS_SHARED_DATA to the shared/data "
                     f"folder (-rs lists them)"], missing.stdout
    (tmp_path / "data" / "ptb").mkdir(parents=True)
    (tmp_path / "data" / "cifar10" / "cifar-10-batches-py").mkdir(parents=True)
    present = _run(tmp_path, tmp_path / "data")
    assert "3 passed" in present.stdout and "ENAS_SHARED_DATA" not in present.stdout, \
        present.stdout
