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
    from enas_tf2.export.predictor import load_predictor
    from enas_tf2.tasks.serving import PredictOptions

    if not os.path.isdir(FLAGS.model_dir):
        raise EnasError(f"--model_dir {FLAGS.model_dir} does not exist")
    _print_warnings(FLAGS.model_dir)
    options = PredictOptions(top_k=FLAGS.top_k, text=tuple(FLAGS.text),
                             next_words=FLAGS.next_words, json=FLAGS.json,
                             precision=FLAGS.precision)
    print(load_predictor(FLAGS.model_dir, options).run_cli(inputs, options))


def run(argv=None) -> None:
    """Console-script entry point (``enas-predict``)."""
    run_main(main, FLAGS, __doc__, positional=True, argv=argv)


if __name__ == "__main__":
    run()
