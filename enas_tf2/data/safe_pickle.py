"""Loading data pickles (CIFAR-10 batches, ``--source=arrays`` files) without running their code.

A pickle is a small program: every global it names is imported and may be called with arguments
the file chooses, so ``pickle.load`` on a stranger's file can run ``os.system``. The data formats
the package reads need only dicts, lists, tuples, strings, bytes, numbers and plain numpy arrays,
so `SafeUnpickler` admits exactly the handful of globals numpy and CPython write for those
(numpy 1.x and 2.x module names, pickle protocols 0-5, py2-era files) and refuses any other with
one `EnasError` line.

Even the admitted numpy globals are not handed to numpy: ``dtype.__setstate__`` and
``ndarray.__setstate__`` trust their arguments (a crafted dtype state can flag raw bytes as
object pointers), so each admitted name maps to an inert stand-in that records what the file
asked for. Once the whole file is read, `load_pickle` checks each record (a numeric, bool or
fixed-width string dtype; a plain shape; exactly enough bytes) and rebuilds the array with the
public ``np.frombuffer``. Object, void, structured and datetime dtypes are refused.
"""

from __future__ import annotations

import math
import pickle
import re
from typing import Dict, Tuple

import numpy as np

from enas_tf2.errors import EnasError

_NOT_DATA = ("only dicts, lists, strings, bytes, numbers and plain numpy arrays are allowed; "
             "this is not a data file")
# Kinds of dtype a data file may hold: bool, signed/unsigned int, float, complex, bytes, str.
_DTYPE_CODE = re.compile(r"(?:[biufc]\d{1,2}|[SU]\d{1,9})")


class _Refused(Exception):
    """Raised inside the load; `load_pickle` prefixes the file name and raises EnasError."""


def _text(value, what: str) -> str:
    """py2 pickles read with encoding="bytes" give ``bytes`` where numpy wrote ``str``."""
    if isinstance(value, bytes):
        return value.decode("latin1")
    if isinstance(value, str):
        return value
    raise _Refused(f"malformed numpy {what} {value!r}")


def _shape(value) -> Tuple[int, ...]:
    if not isinstance(value, tuple) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in value):
        raise _Refused(f"malformed numpy array shape {value!r}")
    return value


def _checked_code(code) -> str:
    code = _text(code, "dtype code")
    if not _DTYPE_CODE.fullmatch(code):
        raise _Refused(f"refusing numpy dtype {code!r}: only bool, integer, float, complex, "
                       "bytes and str arrays are allowed (no object, void, structured or "
                       "datetime data); this is not a data file")
    return code


class _Record:
    """Base of the inert stand-ins. ``__slots__`` leaves no ``__dict__`` a crafted BUILD could
    fill (e.g. to shadow ``to_numpy``), and the default ``__setstate__`` refuses any state."""
    __slots__ = ()

    def __setstate__(self, state):
        raise _Refused(f"refusing pickle state for {type(self).__name__[1:]}: {_NOT_DATA}")


class _DtypeRecord(_Record):
    """What ``numpy.dtype(code, align, copy)`` plus its BUILD state asked for."""
    __slots__ = ("code", "byteorder")

    def __init__(self, code, *_flags):
        self.code = _checked_code(code)
        self.byteorder = "="

    def __setstate__(self, state):
        # state = (version, byteorder, subarray, names, fields, elsize, alignment, flags[, meta]);
        # anything beyond plain ints/None (a subarray, fields, metadata) is a structured dtype.
        if not isinstance(state, tuple) or len(state) < 2 or any(
                not (item is None or isinstance(item, (int, str, bytes))) for item in state):
            raise _Refused(f"refusing numpy dtype {self.code!r} with state {state!r}: "
                           f"{_NOT_DATA}")
        self.byteorder = _text(state[1], "byte order")
        if self.byteorder not in ("<", ">", "|", "="):
            raise _Refused(f"malformed numpy byte order {self.byteorder!r}")

    def to_numpy(self) -> np.dtype:
        """The real dtype, built from the checked code and byte order only."""
        dtype = np.dtype(_checked_code(self.code))   # checked again: NEWOBJ skips __init__
        return dtype.newbyteorder(self.byteorder) if self.byteorder in "<>" else dtype


def _dtype_of(value) -> np.dtype:
    if not isinstance(value, _DtypeRecord):
        raise _Refused(f"malformed numpy dtype {value!r}")
    return value.to_numpy()


def _from_bytes(raw, dtype: np.dtype, shape: Tuple[int, ...], fortran: bool) -> np.ndarray:
    """A writable array of ``shape`` from exactly ``prod(shape) * itemsize`` bytes."""
    if isinstance(raw, str):       # py2 str payload read with encoding="latin1"
        raw = raw.encode("latin1")
    if not isinstance(raw, (bytes, bytearray)):
        raise _Refused(f"refusing numpy array data of type {type(raw).__name__}: {_NOT_DATA}")
    expected = math.prod(shape) * dtype.itemsize
    if len(raw) != expected:
        raise _Refused(f"numpy array of shape {shape} and dtype {dtype} needs {expected} bytes "
                       f"but the file holds {len(raw)} (truncated or damaged)")
    flat = np.frombuffer(raw, dtype=dtype, count=math.prod(shape))
    return np.array(flat.reshape(shape, order="F" if fortran else "C"), copy=True)


class _ArrayRecord(_Record):
    """What ``_reconstruct(ndarray, (0,), b"b")`` plus its BUILD state asked for."""
    __slots__ = ("state",)

    def __init__(self):
        self.state = None

    def __setstate__(self, state):
        self.state = state

    def to_numpy(self) -> np.ndarray:
        """Checks (version, shape, dtype, is_fortran, rawdata) and builds the array."""
        state = self.state
        if isinstance(state, tuple) and len(state) == 5:
            state = state[1:]      # numpy >= 1.0 prefixes a version number
        if not isinstance(state, tuple) or len(state) != 4:
            raise _Refused("malformed numpy array state (no BUILD or an unknown layout)")
        shape, dtype, fortran, raw = state
        return _from_bytes(raw, _dtype_of(dtype), _shape(shape), bool(fortran))


class _BufferRecord(_Record):
    """``numpy._core.numeric._frombuffer(buffer, dtype, shape, order)`` (pickle protocol 5)."""
    __slots__ = ("args",)

    def __init__(self, raw, dtype, shape, order):
        self.args = (raw, dtype, shape, _text(order, "array order"))

    def to_numpy(self) -> np.ndarray:
        """The array, from the checked dtype, shape and byte count."""
        raw, dtype, shape, order = self.args
        return _from_bytes(raw, _dtype_of(dtype), _shape(shape), order == "F")


class _ScalarRecord(_Record):
    """``numpy._core.multiarray.scalar(dtype, bytes)``: one numpy scalar (np.int64(3), ...)."""
    __slots__ = ("args",)

    def __init__(self, dtype, raw=b""):
        self.args = (dtype, raw)

    def to_numpy(self):
        """The scalar, read from exactly one item's bytes."""
        dtype, raw = self.args
        return _from_bytes(raw, _dtype_of(dtype), (), False)[()]


_NDARRAY = object()   # the stand-in for ``numpy.ndarray``: only ever an argument of _reconstruct


def _reconstruct(subtype, shape, typecode) -> _ArrayRecord:
    if subtype is not _NDARRAY:
        raise _Refused(f"refusing numpy array subtype {subtype!r}: {_NOT_DATA}")
    return _ArrayRecord()


def _latin1_encode(text, encoding="utf-8") -> bytes:
    """``_codecs.encode(text, "latin1")`` is how protocol <= 2 writes ``bytes``; nothing else."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise _Refused(f"refusing _codecs.encode with encoding {encoding!r}: {_NOT_DATA}")
    return text.encode("latin1")


def _empty_bytes(*args) -> bytes:
    """``__builtin__.bytes()`` is how protocol <= 2 writes ``b""``; any argument is refused."""
    if args:
        raise _Refused(f"refusing builtins.bytes{args!r}: {_NOT_DATA}")
    return b""


_ALLOWED: Dict[Tuple[str, str], object] = {("_codecs", "encode"): _latin1_encode,
                                           ("builtins", "bytes"): _empty_bytes,
                                           ("__builtin__", "bytes"): _empty_bytes,
                                           ("numpy", "dtype"): _DtypeRecord,
                                           ("numpy", "ndarray"): _NDARRAY}
for _core in ("numpy.core", "numpy._core"):   # numpy 1.x writes numpy.core, numpy 2.x numpy._core
    _ALLOWED[(f"{_core}.multiarray", "_reconstruct")] = _reconstruct
    _ALLOWED[(f"{_core}.multiarray", "scalar")] = _ScalarRecord
    _ALLOWED[(f"{_core}.numeric", "_frombuffer")] = _BufferRecord



class SafeUnpickler(pickle.Unpickler):
    """A ``pickle.Unpickler`` whose ``find_class`` admits only the globals of plain numpy data.

    Admitted names resolve to inert records, not to numpy itself (see the module docstring);
    `load_pickle` turns those records into arrays after checking them. Use `load_pickle` rather
    than this class directly: ``load()`` alone returns the records unconverted.
    """

    def find_class(self, module: str, name: str):
        """Returns the stand-in for an admitted global; raises for every other one."""
        try:
            return _ALLOWED[(module, name)]
        except (KeyError, TypeError):
            raise _Refused(f"refusing to load pickle global '{module}.{name}': "
                           f"{_NOT_DATA}") from None

    def persistent_load(self, pid):
        """Persistent ids reference objects outside the file; a data file has none."""
        raise _Refused(f"refusing pickle persistent id {pid!r}: {_NOT_DATA}")


def _materialize(value, done: Dict[int, object]):
    """Replaces every record inside dicts/lists/tuples/sets by the numpy value it describes."""
    key = id(value)
    if key in done:
        return done[key]
    if isinstance(value, _Record):
        done[key] = value.to_numpy()
    elif isinstance(value, list):
        done[key] = value            # filled in place, so shared and cyclic lists stay shared
        value[:] = [_materialize(item, done) for item in value]
    elif isinstance(value, dict):
        done[key] = value
        items = [(_materialize(k, done), _materialize(v, done)) for k, v in value.items()]
        value.clear()
        value.update(items)
    elif isinstance(value, (tuple, set, frozenset)):
        done[key] = type(value)(_materialize(item, done) for item in value)
    elif value is _NDARRAY or callable(value):
        raise _Refused(f"a bare pickle global ({value!r}) is not data: {_NOT_DATA}")
    else:
        done[key] = value            # str, bytes, bytearray, int, float, complex, bool, None
    return done[key]


def load_pickle(path: str, encoding: str = "bytes", description: str = "a data pickle"):
    """Reads the pickle at ``path`` with `SafeUnpickler` and returns plain Python/numpy data.

    ``encoding`` is how py2 ``str`` objects are decoded ("bytes" keeps them as bytes, which is
    what py2-era numpy payloads need). Raises EnasError naming ``path`` when the file asks for
    anything beyond plain data, or "cannot read <path> as <description>: not a readable pickle"
    when it is damaged or no pickle at all.
    """
    try:
        with open(path, "rb") as handle:
            raw = SafeUnpickler(handle, encoding=encoding).load()
        return _materialize(raw, {})
    except _Refused as refusal:
        raise EnasError(f"{path}: {refusal}") from None
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, KeyError,
            IndexError, AttributeError, MemoryError, RecursionError, UnicodeError) as error:
        raise EnasError(f"cannot read {path} as {description}: not a readable pickle "
                        f"({type(error).__name__}: {error})") from None
