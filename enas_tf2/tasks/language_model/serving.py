"""`LmServing`: a trained language model -> a self-contained SavedModel that reads raw text (the
task's `TaskServing`).

The vocabulary lives inside the graph (a lookup table), so a client sends strings and needs
neither enas_tf2 nor the corpus. Text conventions are those of training (`data/text/ptb.py`):
words are split on whitespace, every line ends with ``<eos>``, and a line is read in the
context of the ``<eos>`` that precedes it in the stream (the recurrent state starts at zero, the
first input is ``<eos>``). A word missing from the vocabulary is looked up lower-cased (PTB is
lower-case except its number token ``N``), then it becomes ``<unk>`` (when the vocabulary has
one; else it is left out of the line) and counts as unknown.

The run config's ``data`` facts must hold ``vocab``, the words in id order (written by
`data/text/lm_pipeline.build_lm_data`), so raw text can be turned into the ids the network was
trained on. The export directory holds, besides ``model.keras`` (the bare network, ``logits, state
= model(ids, state)``), ``arch.json`` and the cell's pictures:
- the SavedModel (``saved_model.pb``, ``variables/``) with two signatures:
  ``serving_default``: ``lines`` tf.string [B] -> ``perplexity`` float32 [B] (of the line's
  words and its closing ``<eos>``), ``log_prob`` float32 [B] (their summed natural-log
  probability), ``tokens`` int32 [B] (words scored, ``<eos>`` included) and ``unknown_words``
  int32 [B]; a text's perplexity over several lines is ``exp(-sum(log_prob) / sum(tokens))``;
  ``next_words``: ``prefix`` tf.string [B] and ``k`` int32 scalar -> ``words`` string [B, k],
  ``probabilities`` float32 [B, k] (most probable first, ``<eos>`` = the line ends), ``ids``
  int32 [B, k] and ``unknown_words`` int32 [B];
- ``vocab.json`` (``words`` in id order, ``eos``, ``unk``).
"""

from __future__ import annotations

import os
from typing import Dict, List, Optional

import tensorflow as tf

from enas_tf2.data.specs import TokenSpec
from enas_tf2.data.text.ptb import EOS
from enas_tf2.errors import EnasError

SIGNATURE_PERPLEXITY = "serving_default"
SIGNATURE_NEXT_WORDS = "next_words"
VOCAB_FILE = "vocab.json"
UNK = "<unk>"


def _vocab(data: dict) -> List[str]:
    return [str(w) for w in data["vocab"]]


def _unk(vocab: List[str]) -> Optional[str]:
    """The token unknown words become, or None when the vocabulary has none (unknown words are
    then left out of a line)."""
    return UNK if UNK in vocab else None


def _vocab_table(vocab: List[str]) -> tf.lookup.StaticHashTable:
    """word -> id (int64), -1 for a word outside the vocabulary."""
    keys = tf.constant(vocab, tf.string)
    values = tf.range(len(vocab), dtype=tf.int64)
    return tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(keys, values),
                                     default_value=-1)


def _serving_functions(run, table: tf.lookup.StaticHashTable):
    """The two signature functions, closing over the network, the table and the conventions
    (every line ends with `EOS`, the end-of-line token, and is read after one)."""
    vocab = _vocab(run.data)
    unk = _unk(vocab)
    vocab_size = len(vocab)
    eos_id = tf.constant(vocab.index(EOS), tf.int32)
    unk_id = tf.constant(vocab.index(unk), tf.int32) if unk is not None else None
    hidden = int(run.net.rnn_config.hidden_size)

    def _ids(lines):
        """Dense int32 ids [B, L] of the lines' words (0 after a line's end), their counts [B]
        and the unknown-word counts [B]."""
        words = tf.strings.split(lines)
        exact = tf.ragged.map_flat_values(table.lookup, words)
        folded = tf.ragged.map_flat_values(
            lambda w: table.lookup(tf.strings.lower(w, encoding="utf-8")), words)
        ids = tf.ragged.map_flat_values(lambda e, f: tf.cast(tf.where(e < 0, f, e), tf.int32),
                                        exact, folded)
        unknown = tf.reduce_sum(tf.cast(ids < 0, tf.int32), axis=1)
        if unk_id is not None:
            ids = tf.ragged.map_flat_values(lambda v: tf.where(v < 0, unk_id, v), ids)
        else:
            ids = tf.ragged.boolean_mask(ids, ids >= 0)
        # Dense int32 from here on: ragged int64 ops fall back from oneDNN with a log line.
        return ids.to_tensor(default_value=0), tf.cast(ids.row_lengths(), tf.int32), unknown

    def _logits(ids):
        """Logits [B, L + 1, V] of ``<eos> w_1 ... w_L`` from the zero state."""
        batch = tf.shape(ids)[0]
        inputs = tf.concat([tf.fill([batch, 1], eos_id), ids], axis=1)
        logits, _ = run.net(inputs, tf.zeros(tf.stack([batch, hidden]), tf.float32),
                            training=False)
        return tf.cast(logits, tf.float32)

    def perplexity(lines):
        ids, lengths, unknown = _ids(lines)
        logits = _logits(ids)
        # Targets: the words, then <eos> right after each line's last word.
        padded = tf.concat([ids, tf.zeros([tf.shape(ids)[0], 1], tf.int32)], axis=1)
        position = tf.range(tf.shape(padded)[1])[None, :]
        targets = tf.where(position == lengths[:, None], eos_id, padded)
        nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=logits)
        tokens = lengths + 1
        mask = tf.cast(position < tokens[:, None], tf.float32)
        log_prob = -tf.reduce_sum(nll * mask, axis=1)
        return {"perplexity": tf.exp(-log_prob / tf.cast(tokens, tf.float32)),
                "log_prob": log_prob, "tokens": tokens, "unknown_words": unknown}

    def next_words(prefix, k):
        ids, lengths, unknown = _ids(prefix)
        last = tf.gather(_logits(ids), lengths, batch_dims=1)      # after the last word
        probabilities = tf.nn.softmax(last, axis=-1)
        top = tf.math.top_k(probabilities, tf.clip_by_value(k, 1, vocab_size))
        return {"words": tf.gather(tf.constant(vocab, tf.string), top.indices),
                "probabilities": top.values, "ids": top.indices, "unknown_words": unknown}

    return perplexity, next_words


class LmServing:
    """The language model's `TaskServing` (see the module docstring for the export)."""

    task = "language_model"
    inference_overrides: Dict[str, object] = {}

    def check_data(self, data: dict, path: str) -> None:
        vocab = data.get("vocab")
        if vocab is None:
            raise EnasError(f"{path} has no data.vocab (runs trained before vocabularies were "
                            f"recorded cannot be exported; retrain with this version)")
        if not isinstance(vocab, list) or not vocab or not all(isinstance(w, str) for w in vocab):
            raise EnasError(f"{path}: data.vocab must be a non-empty list of words")
        if len(set(vocab)) != len(vocab):
            raise EnasError(f"{path}: data.vocab lists a word twice")
        if EOS not in vocab:
            raise EnasError(f"{path}: data.vocab has no {EOS} token")
        size = data.get("vocab_size", len(vocab))
        if int(size) != len(vocab):
            raise EnasError(f"{path}: data.vocab_size={size} but data.vocab has {len(vocab)} "
                            f"words")

    def input_spec(self, data: dict) -> TokenSpec:
        size = data.get("vocab_size")
        return TokenSpec(int(size) if size is not None else len(data["vocab"]))

    def describe_spec(self, spec: TokenSpec) -> str:
        return f"a vocabulary of {spec.vocab_size}"

    def sample_input(self, spec: TokenSpec):
        return None   # ids and a state: listed layer by layer without tracing

    def describe(self, run) -> str:
        return (f"{run.checkpoint} ({run.arch.search_space} cell {run.arch.tokens()}, hidden "
                f"{int(run.net.rnn_config.hidden_size)}, vocabulary of "
                f"{len(run.data['vocab']):,} words)")

    def signatures(self, run, root) -> Dict[str, object]:
        root.vocab_table = _vocab_table(_vocab(run.data))   # tracked: saved with the graph
        perplexity, next_words = _serving_functions(run, root.vocab_table)
        return {
            SIGNATURE_PERPLEXITY: tf.function(perplexity).get_concrete_function(
                tf.TensorSpec([None], tf.string, name="lines")),
            SIGNATURE_NEXT_WORDS: tf.function(next_words).get_concrete_function(
                tf.TensorSpec([None], tf.string, name="prefix"),
                tf.TensorSpec([], tf.int32, name="k")),
        }

    def side_files(self, run) -> Dict[str, dict]:
        vocab = _vocab(run.data)
        return {VOCAB_FILE: {
            "eos": EOS, "unk": _unk(vocab),
            "vocab_size": len(vocab), "trained_perplexity": {
                k: v for k, v in run.result.items() if k.endswith("_ppl")},
            "note": "model.keras reads ids (the index of a word in 'words'; a word not found is "
                    "looked up lower-cased, then becomes unk); every line ends with eos and is "
                    "read after an eos from the zero state; the SavedModel does all this itself",
            "words": vocab}}

    def contents(self) -> str:
        return (f"signatures {SIGNATURE_PERPLEXITY} (per-line perplexity of text lines) and "
                f"{SIGNATURE_NEXT_WORDS} (top-k next words after a prefix), plus model.keras, "
                f"arch.json, {VOCAB_FILE}")

    def is_export(self, model_dir: str) -> bool:
        return os.path.isfile(os.path.join(model_dir, VOCAB_FILE))

    def predictor(self, model_dir: str, options=None):
        del options   # one model
        from enas_tf2.tasks.language_model.predictor import LmPredictor
        return LmPredictor(model_dir)

    def litert(self):
        return None   # the cell's data-dependent loop over a line is beyond these models
