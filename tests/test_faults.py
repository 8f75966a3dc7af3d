"""Faults met mid-run: a write that fails in the run folder (disk full during a checkpoint, the
folder made read-only or deleted), a corrupt TFRecord shard, a damaged newest checkpoint. Each
stops with ONE line naming the problem and keeps the last good checkpoint, and the rerun resumes
from it. Final training of a tiny net on the real CIFAR-10 subset, in this process."""

import contextlib
import dataclasses
import json
import os
import re
import shutil
import subprocess

import pytest

from enas_tf2 import api
from enas_tf2.configs.presets import get_preset
from enas_tf2.errors import EnasError
from enas_tf2.runs import checkpointing

# Two nodes per cell (normal cell, then reduction cell): quick to build and trace.
ARCH = "0 1 1 0 2 4 0 2 1 2 1 0 0 2 1 1"


def tiny_final(data_path, output_dir, num_epochs, **data):
    """Two-node cells at 2 layers of 4 filters, 2 steps an epoch, no pre-flight."""
    cfg = get_preset("cifar10_micro_final")
    fields = dict(data_path=str(data_path), valid_size=0, batch_size=16, eval_batch_size=50)
    fields.update(data)
    return cfg.replace(
        space_config=dataclasses.replace(cfg.space_config, num_layers=2, num_cells=2,
                                         out_filters=4, use_aux_heads=False),
        data=dataclasses.replace(cfg.data, **fields),
        run=dataclasses.replace(cfg.run, output_dir=str(output_dir), num_epochs=num_epochs,
                                max_steps_per_epoch=2, max_eval_batches=1, log_every=2,
                                preflight=False))


def train(cfg):
    return api.train_final(cfg, api.parse_arch("micro", ARCH, cfg.space_config))


@contextlib.contextmanager
def after_first_save(monkeypatch, action):
    """Runs `action()` right after checkpoint 1 is saved (the fault strikes mid-run)."""
    original = checkpointing.RunCheckpoint.save

    def save(self, number=None):
        path = original(self, number)
        if path.endswith("ckpt-1") and self.chief_directory.endswith("ckpt"):
            action()
        return path
    monkeypatch.setattr(checkpointing.RunCheckpoint, "save", save)
    yield
    monkeypatch.setattr(checkpointing.RunCheckpoint, "save", original)


def _epochs(folder):
    return [json.loads(line)["epoch"] for line in open(os.path.join(folder, "progress.jsonl"))]


def _assert_resumes(cfg, folder, caplog):
    """The rerun restores ckpt-1 and finishes; ckpt-1 was therefore loadable."""
    import logging
    with caplog.at_level(logging.INFO, logger="enas_tf2"):
        train(cfg)
    assert "resumed from" in caplog.text and "ckpt-1 at epoch 1" in caplog.text
    assert _epochs(folder) == [1, 2]


@pytest.fixture()
def tmpfs(tmp_path):
    """A 2 MiB file system (root only; otherwise skipped)."""
    mount = tmp_path / "small_disk"
    mount.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if proc.returncode:
        pytest.skip(f"cannot mount a small tmpfs here: {proc.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.slow   # three short trainings (~35 s on a busy 2-core host)
def test_disk_full_during_a_checkpoint_keeps_the_previous_one(cifar10_dir, tmpfs, monkeypatch,
                                                              caplog):
    folder = tmpfs / "run"
    cfg = tiny_final(cifar10_dir, folder, 2)
    filler = tmpfs / "filler"

    def fill_disk():
        # Leave less room than one checkpoint (~0.4 MB) but enough for the log lines.
        free = shutil.disk_usage(tmpfs).free
        filler.write_bytes(b"\0" * max(0, free - 60_000))

    with after_first_save(monkeypatch, fill_disk), pytest.raises(EnasError) as err:
        train(cfg)
    text = str(err.value)
    assert text.startswith("disk full while saving checkpoint 2") and "\n" not in text
    assert f"{folder}/ckpt/ckpt-1 is kept and loadable" in text
    assert sorted(os.listdir(folder / "ckpt")) == ["checkpoint", "ckpt-1.data-00000-of-00001",
                                                     "ckpt-1.index"]   # no half-written ckpt-2
    assert not (folder / "run.lock").exists()
    filler.unlink()
    _assert_resumes(cfg, folder, caplog)


def _read_only(folder):
    """Makes `folder` read-only for this process: a read-only bind mount for root (whom file
    modes do not stop), file modes otherwise. Returns the undo function."""
    if os.geteuid() == 0:
        subprocess.run(["mount", "--bind", str(folder), str(folder)], check=True)
        subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], check=True)
        return lambda: subprocess.run(["umount", str(folder)], check=True)
    os.chmod(folder, 0o555)
    return lambda: os.chmod(folder, 0o755)


@pytest.mark.slow   # three short trainings (~35 s on a busy 2-core host)
def test_folder_made_read_only_mid_run(cifar10_dir, tmp_path, monkeypatch, caplog):
    folder = tmp_path / "run"
    cfg = tiny_final(cifar10_dir, folder, 2)
    undo = []
    with after_first_save(monkeypatch, lambda: undo.append(_read_only(folder))):
        with pytest.raises(EnasError) as err:
            train(cfg)
    undo[0]()
    text = str(err.value)
    assert f"the run folder {folder} became read-only" in text and "\n" not in text
    assert "ckpt-1 is kept and loadable" in text and "rerun the same command" in text
    _assert_resumes(cfg, folder, caplog)


def test_folder_deleted_mid_run(cifar10_dir, tmp_path, monkeypatch):
    folder = tmp_path / "run"
    cfg = tiny_final(cifar10_dir, folder, 2)
    with after_first_save(monkeypatch, lambda: shutil.rmtree(folder)):
        with pytest.raises(EnasError) as err:
            train(cfg)
    text = str(err.value)
    assert f"the run folder {folder} was deleted during the run" in text and "\n" not in text


@pytest.mark.slow   # three short trainings (~35 s on a busy 2-core host)
def test_damaged_newest_checkpoint_falls_back_to_the_previous(cifar10_dir, tmp_path, caplog):
    import logging
    folder = tmp_path / "run"
    train(tiny_final(cifar10_dir, folder, 2))
    data = folder / "ckpt" / "ckpt-2.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])   # half-written
    with caplog.at_level(logging.INFO, logger="enas_tf2"):
        train(tiny_final(cifar10_dir, folder, 3))
    assert "could not read ckpt-2" in caplog.text
    assert "resumed from the previous checkpoint" in caplog.text and "ckpt-1" in caplog.text
    assert _epochs(folder) == [1, 2, 3]


def test_every_checkpoint_damaged_is_one_line(cifar10_dir, tmp_path):
    folder = tmp_path / "run"
    train(tiny_final(cifar10_dir, folder, 1))
    (folder / "ckpt" / "ckpt-1.index").write_bytes(b"not a checkpoint")
    with pytest.raises(EnasError, match=r"no checkpoint in .* can be restored; tried ckpt-1 "
                                        r"\(damaged: .*start over with --reset_output_dir"):
        train(tiny_final(cifar10_dir, folder, 2))


def test_missing_checkpoint_files_never_advise_deleting_the_run(cifar10_dir, tmp_path):
    folder = tmp_path / "run"
    train(tiny_final(cifar10_dir, folder, 1))
    for path in (folder / "ckpt").glob("ckpt-1.*"):
        path.unlink()
    with pytest.raises(EnasError, match=r"tried ckpt-1 \(files missing: .*nothing was deleted") \
            as err:
        train(tiny_final(cifar10_dir, folder, 2))
    assert "reset_output_dir" not in str(err.value)


@pytest.fixture(scope="module")
def flowers_records(flowers_dir, tmp_path_factory):
    """The real photos converted to 4 TFRecord shards per split (small: longer side 48)."""
    from enas_tf2.data.convert.convert import convert
    folder = tmp_path_factory.mktemp("flowers") / "tfr"
    convert("image_folder", str(flowers_dir), str(folder), num_shards=4, max_side=48)
    return folder


def _damage(path):
    """Flips bytes inside a record of the shard (same size: only the CRCs notice)."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    for i in range(middle, middle + 40):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.slow   # three short trainings (~35 s on a busy 2-core host)
def test_corrupt_shard_mid_run_is_named_or_skipped(flowers_records, tmp_path, caplog):
    import logging
    records = tmp_path / "records"
    shutil.copytree(flowers_records, records)
    folder = tmp_path / "run"

    def cfg(epochs, **data):
        return tiny_final(records, folder, epochs, dataset="tfrecord", image_size=(32, 32),
                          **data)
    train(cfg(1))
    shard = records / "train-00002-of-00004.tfrecord"
    _damage(shard)
    with pytest.raises(EnasError) as err:
        train(cfg(2))
    text = str(err.value)
    assert text == (f"shard '{shard}' is corrupt: its sha256 differs from manifest.json")
    assert (folder / "ckpt" / "ckpt-1.index").exists() and _epochs(folder) == [1]
    with caplog.at_level(logging.INFO, logger="enas_tf2"):
        train(cfg(2, skip_corrupt_records=True))
    lines = [r.getMessage() for r in caplog.records if "--skip_corrupt_records" in
             r.getMessage()]
    (line,) = lines
    assert re.search(r"train-00002-of-00004.tfrecord is damaged: (\d+) of its 60 records are "
                     r"readable, (\d+) skipped", line)
    readable, skipped = map(int, re.search(r"(\d+) of its 60 .* (\d+) skipped", line).groups())
    assert 0 < readable < 60 and readable + skipped == 60
    assert "resumed from" in caplog.text and _epochs(folder) == [1, 2]
