"""`LmPredictor`: score text and suggest next words with a language-model `enas-export` directory.

Only the SavedModel's two signatures are used (no enas_tf2 model code), so the numbers are
exactly what any TensorFlow Serving client of the export gets.
"""

from __future__ import annotations

import math
import os
from typing import List, Sequence

import tensorflow as tf

from enas_tf2.errors import EnasError
from enas_tf2.export.lm_saved_model import (SIGNATURE_NEXT_WORDS, SIGNATURE_PERPLEXITY,
                                            VOCAB_FILE)
from enas_tf2.export.predictor import check_export_dir, load_quietly

_BATCH = 64   # lines per signature call


def is_lm_export(model_dir: str) -> bool:
    """Whether `model_dir` is a language-model export (it holds ``vocab.json``)."""
    return os.path.isfile(os.path.join(model_dir, VOCAB_FILE))


def corpus_perplexity(scores: Sequence[dict]) -> float:
    """Perplexity of several scored lines taken together: ``exp(-sum log_prob / sum tokens)``
    (not the mean of the per-line perplexities)."""
    tokens = sum(s["tokens"] for s in scores)
    return math.exp(-sum(s["log_prob"] for s in scores) / tokens) if tokens else float("nan")


class LmPredictor:
    """Loads a language-model export and scores lines / proposes next words.

    Args:
      model_dir: an `enas-export` output directory of an enas-ptb run.
    """

    def __init__(self, model_dir: str):
        check_export_dir(model_dir)
        if not is_lm_export(model_dir):
            raise EnasError(f"--model_dir {model_dir} has no {VOCAB_FILE}: it is not a "
                            f"language-model export")
        self.model_dir = model_dir
        self._loaded = load_quietly(model_dir)
        for name in (SIGNATURE_PERPLEXITY, SIGNATURE_NEXT_WORDS):
            if name not in self._loaded.signatures:
                raise EnasError(f"the SavedModel in {model_dir} has no {name!r} signature")

    def perplexity(self, lines: Sequence[str]) -> List[dict]:
        """One dict per line, in order: ``line``, ``perplexity`` (of its words and the closing
        ``<eos>``), ``log_prob`` (natural log), ``tokens`` and ``unknown_words``."""
        serve = self._loaded.signatures[SIGNATURE_PERPLEXITY]
        results = []
        for start in range(0, len(lines), _BATCH):
            batch = list(lines[start:start + _BATCH])
            out = {k: v.numpy() for k, v in serve(lines=tf.constant(batch, tf.string)).items()}
            for i, line in enumerate(batch):
                results.append({"line": line, "perplexity": float(out["perplexity"][i]),
                                "log_prob": float(out["log_prob"][i]),
                                "tokens": int(out["tokens"][i]),
                                "unknown_words": int(out["unknown_words"][i])})
        return results

    def next_words(self, prefixes: Sequence[str], k: int = 5) -> List[dict]:
        """One dict per prefix: ``prefix``, ``unknown_words`` and ``next_words``, a list of
        ``{"word", "probability"}``, most probable first (``<eos>``: the line ends there)."""
        if k < 1:
            raise EnasError(f"--next_words must be at least 1, got {k}")
        serve = self._loaded.signatures[SIGNATURE_NEXT_WORDS]
        results = []
        for start in range(0, len(prefixes), _BATCH):
            batch = list(prefixes[start:start + _BATCH])
            out = serve(prefix=tf.constant(batch, tf.string), k=tf.constant(k, tf.int32))
            words, probs = out["words"].numpy(), out["probabilities"].numpy()
            unknown = out["unknown_words"].numpy()
            for i, prefix in enumerate(batch):
                results.append({"prefix": prefix, "unknown_words": int(unknown[i]),
                                "next_words": [{"word": w.decode("utf-8"),
                                                "probability": float(p)}
                                               for w, p in zip(words[i], probs[i])]})
        return results
