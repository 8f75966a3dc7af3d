"""Shared fixtures: where the real data lives, and skipping cleanly when it is absent."""

import os
import pathlib

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]


def shared_data_dir() -> pathlib.Path:
    """``$ENAS_SHARED_DATA`` or ``<repo>/../shared/data`` (the layout of this workplace and of CI)."""
    env = os.environ.get("ENAS_SHARED_DATA")
    return pathlib.Path(env) if env else REPO_ROOT.parent / "shared" / "data"


def _require(sub: str) -> pathlib.Path:
    path = shared_data_dir() / sub
    if not path.exists():
        pytest.skip(f"real data not found at {path} (set ENAS_SHARED_DATA to the shared/data folder)")
    return path


@pytest.fixture(scope="session")
def cifar10_dir() -> pathlib.Path:
    """The real CIFAR-10 subset in python-pickle format (4,000 train / 1,000 test)."""
    return _require("cifar10/cifar-10-batches-py")


@pytest.fixture(scope="session")
def ptb_dir() -> pathlib.Path:
    """The real Penn Treebank text files."""
    return _require("ptb")


@pytest.fixture(scope="session")
def flowers_dir() -> pathlib.Path:
    """300 real JPEG photos in 5 class folders."""
    return _require("images/flower_photos_subset")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """One line when tests were skipped for want of the real data, naming ENAS_SHARED_DATA (the
    quiet ``-q`` summary only counts skips; ``-rs`` lists each one)."""
    missing = [r for r in terminalreporter.stats.get("skipped", [])
               if isinstance(r.longrepr, tuple) and "real data not found" in str(r.longrepr[2])]
    if missing:
        terminalreporter.write_line(
            f"{len(missing)} test(s) needing the real data were SKIPPED: nothing at "
            f"{shared_data_dir()}; set ENAS_SHARED_DATA to the shared/data folder "
            f"(-rs lists them)", yellow=True, bold=True)


@pytest.fixture(scope="session")
def nb201_table_path() -> pathlib.Path:
    """The NAS-Bench-201 truth table (15,625 cells, columns index,arch,cifar10_test_acc)."""
    return _require("nb201/nb201_cifar10.csv")
