"""`LmTrainedRun`: a finished language-model run (enas-ptb final training) restored for export.

Reads the run-folder contract of `trained_run.py`; the language model's ``data`` facts must hold
``vocab``, the words in id order (written by `data/text/lm_pipeline.build_lm_data`), so raw text
can be turned into the ids the network was trained on.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import List, Optional

import keras

from enas_tf2.data.text.ptb import EOS
from enas_tf2.errors import EnasError
from enas_tf2.export.trained_run import (RUN_CONFIG_FILE, find_checkpoint, read_run_config,
                                         restore_weights, space_and_arch)
from enas_tf2.data.specs import TokenSpec

UNK = "<unk>"


@dataclasses.dataclass(frozen=True)
class LmTrainedRun:
    """A trained language model and the vocabulary it reads.

    Attributes:
      train_dir: the run folder.
      checkpoint: checkpoint prefix the weights came from (``best/`` before ``ckpt/``).
      net: the restored fixed language model (``logits, state = net(ids, state)``).
      arch, arch_json: the cell, as the space's `Arch` and as JSON.
      vocab: the words in id order.
      eos: the end-of-line token every line ends with (and the context a line starts from).
      unk: the token unknown words become, or None when the vocabulary has none (unknown words
        are then left out of a line).
      result: the run's ``result.json`` (validation / test perplexity), or {}.
    """

    train_dir: str
    checkpoint: str
    net: keras.Model
    arch: object
    arch_json: dict
    vocab: List[str]
    eos: str
    unk: Optional[str]
    result: dict

    @property
    def hidden_size(self) -> int:
        """Width of the recurrent state."""
        return int(self.net.rnn_config.hidden_size)

    def summary(self) -> str:
        """One line saying what was restored (for enas-export)."""
        return (f"{self.checkpoint} ({self.arch.search_space} cell {self.arch.tokens()}, hidden "
                f"{self.hidden_size}, vocabulary of {len(self.vocab):,} words)")


def _read_vocab(config: dict, path: str) -> List[str]:
    vocab = config["data"].get("vocab")
    if vocab is None:
        raise EnasError(f"{path} has no data.vocab (runs trained before vocabularies were "
                        f"recorded cannot be exported; retrain with this version)")
    if not isinstance(vocab, list) or not vocab or not all(isinstance(w, str) for w in vocab):
        raise EnasError(f"{path}: data.vocab must be a non-empty list of words")
    if len(set(vocab)) != len(vocab):
        raise EnasError(f"{path}: data.vocab lists a word twice")
    if EOS not in vocab:
        raise EnasError(f"{path}: data.vocab has no {EOS} token")
    size = config["data"].get("vocab_size", len(vocab))
    if int(size) != len(vocab):
        raise EnasError(f"{path}: data.vocab_size={size} but data.vocab has {len(vocab)} words")
    return vocab


def _read_result(train_dir: str) -> dict:
    try:
        with open(os.path.join(train_dir, "result.json")) as f:
            result = json.load(f)
    except (OSError, ValueError):
        return {}
    return result if isinstance(result, dict) else {}


def load_lm_run(train_dir: str) -> LmTrainedRun:
    """Rebuilds the run's fixed language model and restores its weights (EnasError when the
    folder is not a finished language-model run or its checkpoint does not fit)."""
    config = read_run_config(train_dir)
    path = os.path.join(train_dir, RUN_CONFIG_FILE)
    if config["task"] != "language_model":
        raise EnasError(f"{path}: a {config['task']} run, not a language model")
    vocab = _read_vocab(config, path)
    checkpoint = find_checkpoint(train_dir)
    space, arch = space_and_arch(config, train_dir, {})
    net = space.build_fixed(arch, TokenSpec(len(vocab)), total_steps=1)
    restore_weights(net, checkpoint)
    return LmTrainedRun(train_dir=train_dir, checkpoint=checkpoint, net=net, arch=arch,
                        arch_json=config["arch"], vocab=list(vocab), eos=EOS,
                        unk=UNK if UNK in vocab else None,
                        result=_read_result(train_dir))
