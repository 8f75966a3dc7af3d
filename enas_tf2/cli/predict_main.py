"""`enas-predict`: top-k classes of image files with an `enas-export` directory.

  enas-predict --model_dir=exports/final photo1.jpg photo2.png
  enas-predict --model_dir=exports/final --top_k=3 --json photos/*.jpg

Prints, per image, the most probable classes with their names and probabilities; ``--json`` prints
one JSON list instead (``image``, ``top_k``: ``class_id``, ``class_name``, ``probability``).
Also runnable as ``python -m enas_tf2.cli.predict_main``.
"""

from __future__ import annotations

import json

from absl import flags as absl_flags

from enas_tf2.cli.entry import import_tensorflow, run_main
from enas_tf2.errors import EnasError

FLAGS = absl_flags.FlagValues()   # private, like enas-export's (see there)
absl_flags.DEFINE_string("model_dir", None, "An enas-export output directory.", flag_values=FLAGS)
absl_flags.DEFINE_integer("top_k", 5, "Classes shown per image (capped at the number of classes).",
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


def main(argv) -> None:
    """Predicts the image files given as arguments."""
    images = argv[1:]
    if not FLAGS.model_dir:
        raise EnasError("no --model_dir given: an enas-export output directory")
    if not images:
        raise EnasError("no image files given: enas-predict --model_dir=DIR IMAGE [IMAGE ...]")
    if FLAGS.top_k < 1:
        raise EnasError(f"--top_k must be at least 1, got {FLAGS.top_k}")
    import_tensorflow()   # quietly: its start-up lines would bury the predictions
    from enas_tf2.export.predictor import Predictor  # pylint: disable=import-outside-toplevel

    predictions = Predictor(FLAGS.model_dir).predict_files(images, top_k=FLAGS.top_k)
    print(json.dumps(predictions, indent=2) if FLAGS.json else format_text(predictions))


def run(argv=None) -> None:
    """Console-script entry point (``enas-predict``)."""
    run_main(main, FLAGS, __doc__, positional=True, argv=argv)


if __name__ == "__main__":
    run()
