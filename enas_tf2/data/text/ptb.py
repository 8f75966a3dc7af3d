"""Penn Treebank reader, the row layout and enas_lm's window length (docs/enas_reference.md §5.2).

The corpus is a 1-D stream of word ids; `batchify` cuts it into ``batch_size`` parallel rows, and
BPTT windows walk along the rows, each target being the next word. The windows themselves are cut
by `lm_pipeline` (training: enas_lm's variable lengths from `sample_window_length`; evaluation:
fixed windows).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Dict, List

import numpy as np

from enas_tf2.errors import EnasError

EOS = "<eos>"
SPLIT_FILES = {"train": "ptb.train.txt", "valid": "ptb.valid.txt", "test": "ptb.test.txt"}
# enas_lm: base window = bptt w.p. 0.95, else bptt / 2; length ~ N(base, 5) truncated at 2 sigma.
LONG_WINDOW_PROB = 0.95
LENGTH_STDDEV = 5.0
MAX_EXTRA_LENGTH = 20


@dataclasses.dataclass
class PtbData:
    """The PTB corpus as id streams.

    ``vocab[i]`` is the word of id ``i``, in sorted order as enas_lm's ``process.py`` assigns ids
    (reproducible, independent of frequencies); ``word_to_id`` is its inverse. ``train``/``valid``/
    ``test`` are 1-D int32 id streams with ``<eos>`` at every line end.
    """
    vocab: List[str]
    word_to_id: Dict[str, int]
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray


def tokenize(text: str) -> List[str]:
    """Splits on whitespace and turns every newline into an ``<eos>`` token."""
    return text.replace("\n", f" {EOS} ").split()


def _read_tokens(path: str) -> List[str]:
    try:
        with open(path, encoding="utf-8") as f:
            return tokenize(f.read())
    except FileNotFoundError:
        raise EnasError(
            f"PTB file {path!r} is missing (scripts/download_ptb.sh fetches it)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EnasError(f"cannot read PTB file {path!r}: {exc}") from None


def load_ptb(path: str) -> PtbData:
    """Reads ``ptb.{train,valid,test}.txt`` from the folder ``path``.

    The vocabulary is every word type of the training file (10,000 with ``<eos>`` for the Mikolov
    data). Raises EnasError for a missing folder/file, an empty training file, or a valid/test word
    that is not in the training vocabulary (naming the word and file).
    """
    if not path or not os.path.isdir(os.path.expanduser(str(path))):
        raise EnasError(f"PTB data path {path!r} does not exist or is not a folder")
    root = os.path.expanduser(str(path))
    tokens = {split: _read_tokens(os.path.join(root, name)) for split, name in SPLIT_FILES.items()}
    if not tokens["train"]:
        raise EnasError(f"PTB training file {os.path.join(root, SPLIT_FILES['train'])!r} is empty")
    vocab = sorted(set(tokens["train"]))
    word_to_id = {word: i for i, word in enumerate(vocab)}
    streams = {}
    for split, words in tokens.items():
        try:
            streams[split] = np.fromiter((word_to_id[w] for w in words), np.int32, len(words))
        except KeyError as exc:
            raise EnasError(f"word {exc.args[0]!r} in {SPLIT_FILES[split]} is not in the training "
                            "vocabulary (the PTB files must share one vocabulary)") from None
    return PtbData(vocab, word_to_id, streams["train"], streams["valid"], streams["test"])


def batchify(ids: np.ndarray, batch_size: int) -> np.ndarray:
    """Cuts a 1-D id stream into ``[batch_size, T]`` rows, ``T = len(ids) // batch_size``; row
    ``b`` is the contiguous stretch ``ids[b*T:(b+1)*T]``; the tail that does not fill a row is
    dropped (as in enas_lm's ``input_producer``)."""
    ids = np.asarray(ids)
    if ids.ndim != 1:
        raise EnasError(f"batchify expects a 1-D id stream, got shape {ids.shape}")
    if batch_size <= 0:
        raise EnasError(f"batch size must be positive, got {batch_size}")
    length = len(ids) // batch_size
    if length < 2:
        raise EnasError(f"{len(ids)} ids are too few for batch size {batch_size} "
                        "(each row needs at least 2 ids: an input and its target)")
    return ids[:batch_size * length].reshape(batch_size, length)


def sample_window_length(bptt: int, rng: np.random.Generator) -> int:
    """One enas_lm window length before the end-of-data cap: base ``bptt`` with probability 0.95
    else ``bptt / 2``; a normal sample around it (stddev 5, redrawn beyond 2 stddev as
    ``tf.random.truncated_normal`` does), truncated to int, capped at ``bptt + 20``, at least 1."""
    base = float(bptt) if rng.random() < LONG_WINDOW_PROB else bptt / 2.0
    while True:
        value = rng.normal(base, LENGTH_STDDEV)
        if abs(value - base) <= 2 * LENGTH_STDDEV:
            break
    return max(1, min(int(value), bptt + MAX_EXTRA_LENGTH))
