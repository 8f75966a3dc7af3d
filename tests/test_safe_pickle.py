"""Restricted unpickler: real and numpy-written data pickles load; code-running pickles never run.

Every crafted pickle here would create a marker file if ``pickle.load`` ran it (checked once
with the real, unrestricted pickle as a control); each must be refused with one EnasError line
by both readers (CIFAR-10 batches, ``--source=arrays``) and by the `enas-convert` CLI, and the
marker must never appear.
"""

import os
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest

from cli_runner import error_lines, run_cli
from enas_tf2.data.convert.array_file import load_array_file
from enas_tf2.data.images.cifar10 import load_cifar10
from enas_tf2.data.safe_pickle import load_pickle
from enas_tf2.errors import EnasError


# ------------------------------------------------------------ crafted payloads


class _Reduce:
    """Pickles as ``func(*args)``: what an attacker's file would call at load time."""

    def __init__(self, func, args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _os_system(marker):
    return _Reduce(os.system, (f"touch {marker}",))


def _builtins_exec(marker):
    return _Reduce(exec, (f"open({str(marker)!r}, 'w').close()",))


def _subprocess_call(marker):
    return _Reduce(subprocess.call, (["touch", str(marker)],))


def _numpy_runstring(marker):
    # A numpy global that is not on the list: numpy's own test helper that exec()s a string.
    from numpy.testing._private.utils import runstring
    return _Reduce(runstring, (f"open({str(marker)!r}, 'w').close()", {}))


def _hand_written_os_system(marker):
    """Raw protocol-0 opcodes naming ``os.system`` (what the refusal message quotes)."""
    return ("cos\nsystem\n(V" + f"touch {marker}" + "\ntR.").encode()


PAYLOADS = {"os.system": _os_system, "builtins.exec": _builtins_exec,
            "subprocess.call": _subprocess_call, "numpy runstring": _numpy_runstring}
# The global as the file names it: protocols <= 2 write py2 names (__builtin__, commands).
REFUSED_GLOBAL = {"os.system": r"'posix\.system'",
                  "builtins.exec": r"'(builtins|__builtin__)\.exec'",
                  "subprocess.call": r"'(subprocess|commands)\.call'",
                  "numpy runstring": r"'numpy\.testing\._private\.utils\.runstring'"}


def _batch(evil, protocol=2) -> bytes:
    """A CIFAR-shaped batch whose labels list hides the payload (so keys alone look right)."""
    return pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, evil]},
                        protocol=protocol)


def _cifar_folder(root, batch_bytes):
    folder = root / "cifar-10-batches-py"
    folder.mkdir()
    (folder / "data_batch_1").write_bytes(batch_bytes)
    (folder / "test_batch").write_bytes(pickle.dumps(
        {b"data": np.zeros((1, 3072), np.uint8), b"labels": [0]}, protocol=2))
    return folder


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_control_plain_pickle_would_run_the_payload(tmp_path, name):
    """Guards the other tests: with the unrestricted pickle the same file does create the marker."""
    marker = tmp_path / "marker"
    data = _batch(PAYLOADS[name](marker))
    unsafe_load = "import pickle, sys; pickle.loads(sys.stdin.buffer.read())"
    subprocess.run([sys.executable, "-c", unsafe_load], input=data, check=False,
                   capture_output=True, timeout=120)
    assert marker.exists()


@pytest.mark.parametrize("protocol", [0, 2, 5])
@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_cifar10_reader_refuses_code(tmp_path, name, protocol):
    marker = tmp_path / "marker"
    folder = _cifar_folder(tmp_path, _batch(PAYLOADS[name](marker), protocol))
    with pytest.raises(EnasError) as caught:
        load_cifar10(str(tmp_path))
    message = str(caught.value)
    assert re.fullmatch(re.escape(str(folder / "data_batch_1")) + ": refusing to load pickle "
                        "global " + REFUSED_GLOBAL[name] + ": .*not a data file", message)
    assert not marker.exists()


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_arrays_reader_refuses_code(tmp_path, name):
    marker = tmp_path / "marker"
    payload = {"images": np.zeros((4, 2, 2, 3), np.uint8), "labels": np.array([0, 1, 0, 1]),
               "class_names": ["a", PAYLOADS[name](marker)]}
    (tmp_path / "a.pkl").write_bytes(pickle.dumps(payload, protocol=4))
    with pytest.raises(EnasError, match=r"a\.pkl: refusing to load pickle global "
                       + REFUSED_GLOBAL[name]):
        load_array_file(str(tmp_path / "a.pkl"))
    assert not marker.exists()


def test_refusal_quotes_the_global_by_its_written_name(tmp_path):
    marker = tmp_path / "marker"
    (tmp_path / "x.pkl").write_bytes(_hand_written_os_system(marker))
    with pytest.raises(EnasError) as caught:
        load_array_file(str(tmp_path / "x.pkl"))
    assert str(caught.value) == (
        f"{tmp_path / 'x.pkl'}: refusing to load pickle global 'os.system': only dicts, lists, "
        "strings, bytes, numbers and plain numpy arrays are allowed; this is not a data file")
    assert not marker.exists()


def test_numpy_data_that_is_not_plain_is_refused(tmp_path):
    """Object arrays (their items are arbitrary objects) and a dtype state that flags raw bytes
    as object pointers (a memory-safety hole in dtype.__setstate__) never reach numpy."""
    path = tmp_path / "o.pkl"
    path.write_bytes(pickle.dumps({"x": np.array([1, "a"], dtype=object)}, protocol=2))
    with pytest.raises(EnasError, match=r"o\.pkl: refusing numpy dtype 'O8'"):
        load_pickle(str(path))
    # numpy.dtype('V8') + BUILD (3, '|', None, None, None, 8, 1, 63): 63 = the object flags.
    forged = (b"\x80\x02cnumpy\ndtype\nX\x02\x00\x00\x00V8\x89\x88\x87R"
              b"(K\x03X\x01\x00\x00\x00|NNNK\x08K\x01K?tb.")
    path.write_bytes(forged)
    with pytest.raises(EnasError, match=r"o\.pkl: refusing numpy dtype 'V8'"):
        load_pickle(str(path))


def test_cli_refuses_with_one_error_line(tmp_path):
    marker = tmp_path / "marker"
    payload = {"images": np.zeros((4, 2, 2, 3), np.uint8), "labels": [0, 1, 0, _os_system(marker)]}
    (tmp_path / "a.pkl").write_bytes(pickle.dumps(payload, protocol=2))
    (tmp_path / "c").mkdir()
    _cifar_folder(tmp_path / "c", _batch(_builtins_exec(marker)))
    env = {"TF_CPP_MIN_LOG_LEVEL": "3"}
    for source, source_input, refused in (
            ("arrays", tmp_path / "a.pkl", "'posix.system'"),
            ("cifar10", tmp_path / "c", "'__builtin__.exec'")):
        result = run_cli("convert_main", [f"--source={source}", f"--input={source_input}",
                                          f"--output_dir={tmp_path / ('out_' + source)}"],
                         timeout=300, env=env)
        assert result.returncode == 2, result.stderr
        assert error_lines(result) == result.stderr.strip().splitlines()
        assert len(error_lines(result)) == 1 and "Traceback" not in result.stderr
        assert f"refusing to load pickle global {refused}" in result.stderr
        assert not marker.exists()


# ------------------------------------------------------------ what must still load


def test_real_cifar10_batches_load_like_plain_pickle(cifar10_dir):
    """The real py2-era batches (numpy.core globals, protocol 2) give the very same arrays."""
    for name in ("data_batch_1", "test_batch", "batches.meta"):
        with open(cifar10_dir / name, "rb") as handle:
            expected = pickle.load(handle, encoding="bytes")   # trusted file: the reference
        loaded = load_pickle(str(cifar10_dir / name), encoding="bytes")
        assert sorted(loaded) == sorted(expected)
        for key, value in expected.items():
            if isinstance(value, np.ndarray):
                assert loaded[key].dtype == value.dtype and loaded[key].shape == value.shape
                np.testing.assert_array_equal(loaded[key], value)
            else:
                assert loaded[key] == value
    arrays = load_cifar10(str(cifar10_dir))
    assert arrays.train_images.shape == (4000, 32, 32, 3) and arrays.test_labels.shape == (1000,)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_numpy_values_round_trip_every_protocol(tmp_path, protocol):
    values = {"u8": np.arange(24, dtype=np.uint8).reshape(2, 3, 4),
              "fortran": np.asfortranarray(np.arange(12, dtype=np.int64).reshape(3, 4)),
              "big_endian": np.array([1.5, -2.0], dtype=">f8"), "empty": np.zeros((0, 5), np.int32),
              "names": np.array(["cat", "dog"]), "raw": np.array([b"ab", b"c"]),
              "flags": np.array([True, False]), "c64": np.array([1 + 2j], np.complex64),
              "i64": np.int64(-7), "f32": np.float32(0.25), "s": np.str_("owl"),
              "dtype": np.dtype("<u2"), "plain": [1, 2.5, "x", b"", b"yz", (None, True)]}
    path = tmp_path / "v.pkl"
    path.write_bytes(pickle.dumps(values, protocol=protocol))
    loaded = load_pickle(str(path), encoding="latin1" if protocol < 3 else "bytes")
    for key, value in values.items():
        assert type(loaded[key]) is type(value), key
        if isinstance(value, np.ndarray):
            assert loaded[key].dtype == value.dtype and loaded[key].shape == value.shape, key
            assert loaded[key].flags.f_contiguous == value.flags.f_contiguous, key
            assert loaded[key].flags.writeable, key
            np.testing.assert_array_equal(loaded[key], value)
        else:
            assert loaded[key] == value, key


def test_damaged_pickle_is_one_clear_line(tmp_path):
    path = tmp_path / "t.pkl"
    path.write_bytes(pickle.dumps({"x": np.arange(100, dtype=np.int32)}, protocol=2)[:-60])
    with pytest.raises(EnasError, match=r"cannot read .*t\.pkl as a data pickle: not a readable"):
        load_pickle(str(path))
