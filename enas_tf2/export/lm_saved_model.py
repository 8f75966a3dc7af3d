"""`export_lm_run`: a trained language model -> a self-contained SavedModel that reads raw text.

The vocabulary lives inside the graph (a lookup table), so a client sends strings and needs
neither enas_tf2 nor the corpus. Text conventions are those of training (`data/text/ptb.py`):
words are split on whitespace, every line ends with ``<eos>``, and a line is read in the
context of the ``<eos>`` that precedes it in the stream (the recurrent state starts at zero, the
first input is ``<eos>``). A word missing from the vocabulary is looked up lower-cased (PTB is
lower-case except its number token ``N``), then it becomes ``<unk>`` (when the vocabulary has
one; else it is left out of the line) and counts as unknown.

The export directory holds:
- the SavedModel (``saved_model.pb``, ``variables/``) with two signatures:
  ``serving_default``: ``lines`` tf.string [B] -> ``perplexity`` float32 [B] (of the line's
  words and its closing ``<eos>``), ``log_prob`` float32 [B] (their summed natural-log
  probability), ``tokens`` int32 [B] (words scored, ``<eos>`` included) and ``unknown_words``
  int32 [B]; a text's perplexity over several lines is ``exp(-sum(log_prob) / sum(tokens))``;
  ``next_words``: ``prefix`` tf.string [B] and ``k`` int32 scalar -> ``words`` string [B, k],
  ``probabilities`` float32 [B, k] (most probable first, ``<eos>`` = the line ends), ``ids``
  int32 [B, k] and ``unknown_words`` int32 [B];
- ``model.keras``: the bare network (``logits, state = model(ids, state)``) for Keras users;
- ``vocab.json`` (``words`` in id order, ``eos``, ``unk``), ``arch.json`` and the
  cell's picture ``arch.png``/``arch.svg``.
"""

from __future__ import annotations

import os

import tensorflow as tf

from enas_tf2.export.lm_run import LmTrainedRun
from enas_tf2.json_file import write_json
from enas_tf2.render import render_arch_files

SIGNATURE_PERPLEXITY = "serving_default"
SIGNATURE_NEXT_WORDS = "next_words"
KERAS_FILE = "model.keras"
ARCH_FILE = "arch.json"
VOCAB_FILE = "vocab.json"


def _vocab_table(run: LmTrainedRun) -> tf.lookup.StaticHashTable:
    """word -> id (int64), -1 for a word outside the vocabulary."""
    keys = tf.constant(run.vocab, tf.string)
    values = tf.range(len(run.vocab), dtype=tf.int64)
    return tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(keys, values),
                                     default_value=-1)


def _serving_functions(run: LmTrainedRun, table: tf.lookup.StaticHashTable):
    """The two signature functions, closing over the network, the table and the conventions."""
    vocab_size = len(run.vocab)
    eos_id = tf.constant(run.vocab.index(run.eos), tf.int32)
    unk_id = tf.constant(run.vocab.index(run.unk), tf.int32) if run.unk is not None else None
    hidden = run.hidden_size

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
        return {"words": tf.gather(tf.constant(run.vocab, tf.string), top.indices),
                "probabilities": top.values, "ids": top.indices, "unknown_words": unknown}

    return perplexity, next_words


def export_lm(run: LmTrainedRun, export_dir: str) -> None:
    """Writes the SavedModel, ``model.keras`` and the JSON side files of `run` into the (empty,
    existing) `export_dir`."""
    root = tf.Module()
    root.net = run.net
    root.vocab_table = _vocab_table(run)   # tracked by the root, so it is saved with the graph
    perplexity, next_words = _serving_functions(run, root.vocab_table)
    signatures = {
        SIGNATURE_PERPLEXITY: tf.function(perplexity).get_concrete_function(
            tf.TensorSpec([None], tf.string, name="lines")),
        SIGNATURE_NEXT_WORDS: tf.function(next_words).get_concrete_function(
            tf.TensorSpec([None], tf.string, name="prefix"),
            tf.TensorSpec([], tf.int32, name="k")),
    }
    tf.saved_model.save(root, export_dir, signatures=signatures,
                        options=tf.saved_model.SaveOptions(experimental_custom_gradients=False))
    run.net.save(os.path.join(export_dir, KERAS_FILE))
    render_arch_files(run.arch, export_dir)
    write_json(os.path.join(export_dir, ARCH_FILE), run.arch_json)
    write_json(os.path.join(export_dir, VOCAB_FILE), {
        "eos": run.eos, "unk": run.unk,
        "vocab_size": len(run.vocab), "trained_perplexity": {
            k: v for k, v in run.result.items() if k.endswith("_ppl")},
        "note": "model.keras reads ids (the index of a word in 'words'; a word not found is "
                "looked up lower-cased, then becomes unk); every line ends with eos and is read "
                "after an eos from the zero state; the SavedModel does all this itself",
        "words": run.vocab})
