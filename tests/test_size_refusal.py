"""Refusing a run before the kernel kills it: the size-based floor checked before the memory
probe (a huge image size ends in one line naming a size or stem that fits, and leaves no lock),
suggested batch sizes capped at the training split, a batch as large as the split warned about,
and ``--child_stem=auto`` as the default (the original network at CIFAR's size)."""

import os

import pytest

from enas_tf2.search_space.registry import get_space
from enas_tf2.data.specs import ImageSpec
from enas_tf2.runs.memory_probe import MemoryFit
from enas_tf2.training.preflight import Estimate

from cli_runner import TINY_SEARCH, error_lines, run_cli

GIB = 1 << 30


@pytest.mark.parametrize("name", ["micro", "macro"])
def test_floor_grows_with_the_image_area_and_the_stem_is_what_cuts_it(name):
    space_cls_config = get_space(name).config.__class__
    space = get_space(name, space_cls_config(stem="cifar"))
    small = space.activation_floor(ImageSpec(64, 64, 10)).bytes_per_example
    large = space.activation_floor(ImageSpec(128, 128, 10)).bytes_per_example
    assert small > 0 and large == 4 * small          # every map scales with H*W at these sizes
    cifar = space.activation_floor(ImageSpec(1024, 1024, 10))
    imagenet = get_space(name, space_cls_config(stem="imagenet")).activation_floor(
        ImageSpec(1024, 1024, 10))
    assert "--child_stem=imagenet" in cifar.largest and "--child_stem" not in imagenet.largest
    assert imagenet.bytes_per_example * 16 < cifar.bytes_per_example


def test_auto_is_the_default_stem_and_is_the_original_at_32_px():
    for name in ("micro", "macro"):
        auto = get_space(name)
        assert auto.config.stem == "auto"
        assert auto.stem_for(ImageSpec(32, 32, 10)) == "cifar"
        assert auto.stem_for(ImageSpec(224, 224, 10)) == "imagenet"


def test_suggested_batch_never_exceeds_the_training_split_and_a_whole_split_is_warned():
    fit = MemoryFit(batches=(2, 4), peaks=(1 << 20, 2 << 20), per_example=float(1 << 20),
                    input_bytes=3072, base=0)
    est = Estimate(kind="search", batch_size=512, replicas=2, limit=8 * GIB, limit_source="x",
                   fit=fit, train_examples=301)
    assert fit.largest_batch(8 * GIB, 2) > 301       # memory alone would allow far more
    assert est.fitting_batch() == 300                # capped: the split, a multiple of 2
    assert any("covers the whole training split (301 examples)" in line
               for line in est.lines())
    small = Estimate(kind="search", batch_size=64, replicas=1, limit=8 * GIB,
                     limit_source="x", fit=fit, train_examples=301)
    assert not any("whole training split" in line for line in small.lines())


def test_huge_image_is_refused_before_the_probe_in_one_line(cifar10_dir, tmp_path):
    folder = tmp_path / "runs" / "huge"
    proc = run_cli("cnn_main", TINY_SEARCH + [
        f"--data_path={cifar10_dir}", "--output_dir=runs/huge", "--image_size=16384",
        "--child_stem=cifar", "--num_epochs=1"], cwd=str(tmp_path), timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    (line,) = error_lines(proc)
    assert line.startswith("error: not enough memory for 16384x16384 images: one example's "
                           "activations alone take at least")
    assert "--child_stem=imagenet starts them at 1/8 of each side" in line
    assert "use --image_size=" in line and "--force" in line
    side = int(line.split("--image_size=")[1].split("x")[0])
    assert 32 <= side < 16384
    assert not os.path.exists(folder / "run.lock")          # the lock was released
    assert not os.path.exists(folder / "ckpt")              # nothing trained
