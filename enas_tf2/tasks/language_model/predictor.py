"""`LmPredictor`: score text and suggest next words with a language-model `enas-export` directory.

Only the SavedModel's two signatures are used (no enas_tf2 model code), so the numbers are
exactly what any TensorFlow Serving client of the export gets.
"""

from __future__ import annotations

import json
import math
import os
from typing import List, Sequence

import tensorflow as tf

from enas_tf2.errors import EnasError
from enas_tf2.tasks.language_model.serving import (SIGNATURE_NEXT_WORDS, SIGNATURE_PERPLEXITY,
                                                   VOCAB_FILE)
from enas_tf2.tasks.serving import PredictOptions, check_export_dir, load_saved_model

_BATCH = 64   # lines per signature call


def is_lm_export(model_dir: str) -> bool:
    """Whether `model_dir` is a language-model export (it holds ``vocab.json``)."""
    return os.path.isfile(os.path.join(model_dir, VOCAB_FILE))


def format_perplexity(scores, total: float) -> str:
    """One line per text line (perplexity, tokens, unknown words, the line), then the total."""
    out = [f"{'perplexity':>12}  {'tokens':>6}  {'unknown':>7}  line"]
    for s in scores:
        out.append(f"{s['perplexity']:12.2f}  {s['tokens']:6d}  {s['unknown_words']:7d}  "
                   f"{s['line']}")
    if len(scores) > 1:
        out.append(f"all {len(scores)} lines: perplexity {total:.2f} over "
                   f"{sum(s['tokens'] for s in scores)} tokens")
    return "\n".join(out)


def format_next_words(results) -> str:
    """The prefix, then ``rank. word  probability`` per proposed word."""
    out = []
    for r in results:
        unknown = f" ({r['unknown_words']} unknown words)" if r["unknown_words"] else ""
        out.append(f"after {r['prefix']!r}{unknown}:")
        width = max(len(w["word"]) for w in r["next_words"])
        for rank, w in enumerate(r["next_words"], start=1):
            out.append(f"  {rank}. {w['word']:<{width}}  {w['probability']:.4f}")
    return "\n".join(out)


def read_lines(paths: Sequence[str]) -> List[str]:
    """Every line of the text files `paths`, in order (EnasError naming an unreadable one)."""
    lines = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                lines.extend(line.rstrip("\n") for line in f)
        except FileNotFoundError:
            raise EnasError(f"text file {path} does not exist") from None
        except (OSError, UnicodeDecodeError) as err:
            raise EnasError(f"cannot read text file {path} as UTF-8 text: {err}") from None
    return lines


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
        self._loaded = load_saved_model(model_dir, [SIGNATURE_PERPLEXITY, SIGNATURE_NEXT_WORDS])

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

    def run_cli(self, inputs: Sequence[str], options: PredictOptions) -> str:
        """`enas-predict`'s answer for ``--text`` lines and the lines of the text files in
        `inputs`: their perplexity, or with ``--next_words`` the most probable next words."""
        # An empty --text is one empty line (next words at the start of a line).
        lines = [line for text in options.text for line in (text.splitlines() or [""])]
        lines += read_lines(inputs)
        if not lines:
            raise EnasError("no text given: enas-predict --model_dir=DIR --text=\"some words\" "
                            "(or text files as arguments)")
        if options.next_words:
            results = self.next_words(lines, options.next_words)
            return json.dumps(results, indent=2) if options.json else format_next_words(results)
        scores = self.perplexity(lines)
        total = corpus_perplexity(scores)
        if options.json:
            return json.dumps({"lines": scores, "perplexity": total}, indent=2)
        return format_perplexity(scores, total)
