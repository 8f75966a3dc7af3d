"""`enas-predict`: use an `enas-export` directory: top-k classes of image files, or, for a language
model, the perplexity of text lines and the most probable next words.

  enas-predict --model_dir=exports/final photo1.jpg photo2.png
  enas-predict --model_dir=exports/final --top_k=3 --json photos/*.jpg
  enas-predict --model_dir=exports/ptb --text="the stock market fell sharply"
  enas-predict --model_dir=exports/ptb --text="the stock market" --next_words=5
  enas-predict --model_dir=exports/ptb notes.txt           # every line of the file

Images: per image, the most probable classes with their names and probabilities. Text: per line,
its perplexity (of its words and the end of the line), the words scored and how many were
unknown, then the perplexity of all lines together; with --next_words=K the K most probable next
words after each line instead. ``--json`` prints one JSON list instead. Also runnable as
``python -m enas_tf2.cli.predict_main``.
"""

from __future__ import annotations

import json
import os
import sys

from absl import flags as absl_flags

from enas_tf2.cli.entry import import_tensorflow, run_main
from enas_tf2.errors import EnasError

FLAGS = absl_flags.FlagValues()   # private, like enas-export's (see there)
absl_flags.DEFINE_string("model_dir", None, "An enas-export output directory.", flag_values=FLAGS)
absl_flags.DEFINE_integer("top_k", 5, "Images: classes shown per image (capped at the number of "
                          "classes).", flag_values=FLAGS)
absl_flags.DEFINE_multi_string("text", [], "Language model: text to score (repeatable; each "
                               "line is scored on its own). Text files may be given as "
                               "arguments instead.", flag_values=FLAGS)
absl_flags.DEFINE_integer("next_words", 0, "Language model: show the K most probable next "
                          "words after each line instead of its perplexity (0 = perplexity).",
                          flag_values=FLAGS)
absl_flags.DEFINE_enum("precision", "int8", ["int8", "float32"], "LiteRT exports "
                       "(enas-export --format=litert): which .tflite model runs.",
                       flag_values=FLAGS)
absl_flags.DEFINE_bool("json", False, "Print machine-readable JSON instead of text.",
                       flag_values=FLAGS)


def format_text(predictions) -> str:
    """Human-readable lines: the image path, then ``rank. class_name  probability`` per class."""
    lines = []
    for pred in predictions:
        lines.append(pred["image"])
        width = max(len(c["class_name"]) for c in pred["top_k"])
        for rank, c in enumerate(pred["top_k"], start=1):
            lines.append(f"  {rank}. {c['class_name']:<{width}}  {c['probability']:.4f}")
    return "\n".join(lines)


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


def _read_lines(paths) -> list:
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


def _predict_text(files) -> str:
    from enas_tf2.export.lm_predictor import (  # pylint: disable=import-outside-toplevel
        LmPredictor, corpus_perplexity)
    # An empty --text is one empty line (next words at the start of a line).
    lines = [line for text in FLAGS.text for line in (text.splitlines() or [""])]
    lines += _read_lines(files)
    if not lines:
        raise EnasError("no text given: enas-predict --model_dir=DIR --text=\"some words\" (or "
                        "text files as arguments)")
    predictor = LmPredictor(FLAGS.model_dir)
    if FLAGS.next_words:
        results = predictor.next_words(lines, FLAGS.next_words)
        return json.dumps(results, indent=2) if FLAGS.json else format_next_words(results)
    scores = predictor.perplexity(lines)
    total = corpus_perplexity(scores)
    if FLAGS.json:
        return json.dumps({"lines": scores, "perplexity": total}, indent=2)
    return format_perplexity(scores, total)


def _print_warnings(model_dir: str) -> None:
    """The trained run's health warnings the export carries (predictions still follow)."""
    from enas_tf2.report.run_folder import read_json_file
    obj = read_json_file(os.path.join(model_dir, "warnings.json"), "warnings file")
    for text in (obj.get("warnings") or []) if isinstance(obj, dict) else []:
        print(f"warning: {text}", file=sys.stderr)


def main(argv) -> None:
    """Predicts the image files (or scores the text) given as arguments."""
    inputs = argv[1:]
    if not FLAGS.model_dir:
        raise EnasError("no --model_dir given: an enas-export output directory")
    if FLAGS.top_k < 1:
        raise EnasError(f"--top_k must be at least 1, got {FLAGS.top_k}")
    if FLAGS.next_words < 0:
        raise EnasError(f"--next_words must be >= 0, got {FLAGS.next_words}")
    import_tensorflow()   # quietly: its start-up lines would bury the predictions
    # pylint: disable=import-outside-toplevel
    from enas_tf2.export.lm_predictor import is_lm_export
    from enas_tf2.export.predictor import Predictor, check_export_dir

    from enas_tf2.export.litert import is_litert_export
    if is_litert_export(FLAGS.model_dir):
        if not inputs:
            raise EnasError("no image files given: enas-predict --model_dir=DIR IMAGE ...")
        from enas_tf2.export.litert_predictor import LiteRtPredictor
        predictions = LiteRtPredictor(FLAGS.model_dir, FLAGS.precision).predict_files(
            inputs, top_k=FLAGS.top_k)
        print(json.dumps(predictions, indent=2) if FLAGS.json else format_text(predictions))
        return
    check_export_dir(FLAGS.model_dir)
    _print_warnings(FLAGS.model_dir)
    if is_lm_export(FLAGS.model_dir):
        print(_predict_text(inputs))
        return
    if FLAGS.text or FLAGS.next_words:
        raise EnasError(f"--text and --next_words need a language-model export; "
                        f"{FLAGS.model_dir} is an image classifier (give image files)")
    if not inputs:
        raise EnasError("no image files given: enas-predict --model_dir=DIR IMAGE [IMAGE ...]")
    predictions = Predictor(FLAGS.model_dir).predict_files(inputs, top_k=FLAGS.top_k)
    print(json.dumps(predictions, indent=2) if FLAGS.json else format_text(predictions))


def run(argv=None) -> None:
    """Console-script entry point (``enas-predict``)."""
    run_main(main, FLAGS, __doc__, positional=True, argv=argv)


if __name__ == "__main__":
    run()
