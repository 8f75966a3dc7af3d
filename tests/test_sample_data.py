"""Embedded flower photos: inside the installed package, decodable, small, credited, convertible."""

import collections
import configparser
import fnmatch
import importlib.util
import json
import pathlib

import pytest
import tensorflow as tf

from conftest import REPO_ROOT
from enas_tf2.data.convert.convert import convert, plan_conversion
from enas_tf2.sample_data import flowers_dir

CLASSES = ["daisy", "dandelion", "roses", "sunflowers", "tulips"]
PER_CLASS = 60
SHORT_SIDE = 112        # what enas_tf2/sample_data/README.md documents


@pytest.fixture(scope="module")
def flowers() -> pathlib.Path:
    return pathlib.Path(flowers_dir())


@pytest.fixture(scope="module")
def photos(flowers):
    return sorted(p.relative_to(flowers).as_posix() for p in flowers.glob("*/*")
                  if p.is_file())


def test_folder_is_inside_the_installed_package(flowers):
    package_dir = pathlib.Path(importlib.util.find_spec("enas_tf2").submodule_search_locations[0])
    assert flowers == package_dir / "sample_data" / "flowers"
    assert flowers.is_dir() and (flowers / "LICENSE.txt").is_file()


def test_five_classes_sixty_photos_each(flowers, photos):
    assert sorted(p.name for p in flowers.iterdir() if p.is_dir()) == CLASSES
    counts = collections.Counter(name.split("/")[0] for name in photos)
    assert counts == {name: PER_CLASS for name in CLASSES}
    assert all(name.endswith(".jpg") for name in photos)     # nothing else in class folders


def test_every_photo_decodes_as_upright_rgb_jpeg_of_the_documented_size(flowers, photos):
    for name in photos:
        data = (flowers / name).read_bytes()
        assert data[:3] == b"\xff\xd8\xff", name                  # a JPEG, not a renamed file
        image = tf.io.decode_jpeg(data)                          # what the input pipeline uses
        height, width, channels = image.shape
        assert channels == 3 and min(height, width) == SHORT_SIDE, (name, image.shape)


def test_whole_folder_is_well_under_5_mb(flowers):
    total = sum(f.stat().st_size for f in flowers.rglob("*") if f.is_file())
    assert total < 3 * 2**20, total        # measured 1.83 MiB; 3 MiB leaves headroom below 5 MB


def test_license_credits_exactly_the_shipped_photos(flowers, photos):
    text = (flowers / "LICENSE.txt").read_text(encoding="utf-8")
    assert "https://creativecommons.org/licenses/by/2.0/" in text
    # "<class>/<photo>.jpg CC-BY by <name> - <url>" (a few archive lines: "CC-BY <url> - by <name>")
    credits = [line for line in text.splitlines() if line.split(" ", 1)[0].endswith(".jpg")]
    credited = [line.split(" ", 1)[0] for line in credits]
    assert len(credited) == len(set(credited))                   # one line per photo
    assert sorted(credited) == photos
    for line in credits:                                          # names the photographer + page
        rest = line.split(" ", 1)[1]
        assert rest.startswith("CC-BY ") and "by " in rest and "https://" in rest, line


def test_setup_cfg_ships_every_sample_file():
    """Every file under sample_data/ matches a package_data pattern, so wheels carry it."""
    config = configparser.ConfigParser()
    config.read(REPO_ROOT / "setup.cfg")
    patterns = [p.strip() for p in
                config["options.package_data"]["enas_tf2.sample_data"].split(",")]
    root = REPO_ROOT / "enas_tf2" / "sample_data"
    files = [p.relative_to(root).as_posix() for p in root.rglob("*")
             if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".py"]
    assert len(files) == len(CLASSES) * PER_CLASS + 2                # + LICENSE.txt, README.md
    unshipped = [f for f in files if not any(fnmatch.fnmatchcase(f, p) for p in patterns)]
    assert unshipped == []


def test_stratified_split_plan(flowers, tmp_path):
    plan = plan_conversion("image_folder", str(flowers), str(tmp_path / "out"))
    assert plan.class_names == CLASSES
    for split, per_class in (("train", 48), ("valid", 6), ("test", 6)):   # 80/10/10 of 60
        counts = collections.Counter(job.label for job in plan.jobs[split])
        assert counts == {label: per_class for label in range(len(CLASSES))}, split


def test_converts_with_nothing_skipped(flowers, tmp_path):
    manifest = convert("image_folder", str(flowers), str(tmp_path / "out"), max_side=128,
                       num_workers=2)
    assert manifest["skipped"] == []
    assert {s: e["count"] for s, e in manifest["splits"].items()} == {"train": 240, "valid": 30,
                                                                      "test": 30}
    written = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert written["num_classes"] == 5 and written["class_names"] == CLASSES
