"""`enas-export`: turn a final-training run directory into a SavedModel for serving.

  enas-export --output_dir=runs/final --export_dir=exports/final

Uses ``runs/final/best/`` (best-validation weights) if present, else the newest ``ckpt/``. For
an image classifier (enas-cnn) the SavedModel's ``serving_default`` signature takes encoded
JPEG/PNG bytes of any size; for a language model (enas-ptb) it takes text lines and returns their
perplexity, and ``next_words`` the most probable next words after a prefix (each task's
``serving.py`` under `enas_tf2.tasks`). The vocabulary and preprocessing are inside.
Also runnable as ``python -m enas_tf2.cli.export_main``.
"""

from __future__ import annotations


from absl import flags as absl_flags

from enas_tf2.cli.entry import import_tensorflow, run_main
from enas_tf2.errors import EnasError

# A private FlagValues: `--output_dir` also exists in enas-cnn's global flags, and both modules
# may be imported in one process (tests).
FLAGS = absl_flags.FlagValues()
absl_flags.DEFINE_string("output_dir", None, "The --output_dir of a finished (or running) final "
                         "training run: holds run_config.json and best/ or ckpt/.",
                         flag_values=FLAGS)
absl_flags.DEFINE_string("export_dir", None, "Folder to write the SavedModel, model.keras, "
                         "arch.json and labels.json into (must be new or empty).",
                         flag_values=FLAGS)
absl_flags.DEFINE_enum("format", "saved_model", ["saved_model", "litert"], "saved_model: the "
                       "serving SavedModel; litert: float32 and int8 .tflite models of an image "
                       "classifier with their test accuracy and latency (docs/deploy.md).",
                       flag_values=FLAGS)
absl_flags.DEFINE_bool("overwrite", False, "Replace the contents of a non-empty --export_dir.",
                       flag_values=FLAGS)


def main(argv) -> None:
    """Exports the run named by the flags."""
    del argv
    if not FLAGS.output_dir:
        raise EnasError("no --output_dir given: the training run directory to export")
    if not FLAGS.export_dir:
        raise EnasError("no --export_dir given: where to write the SavedModel")
    import_tensorflow()   # quietly: its start-up lines would bury the summary
    from enas_tf2.export.saved_model import export_run  # pylint: disable=import-outside-toplevel

    if FLAGS.format == "litert":
        from enas_tf2.export.litert import export_litert_cli  # pylint: disable=C0415
        print(export_litert_cli(FLAGS.output_dir, FLAGS.export_dir, FLAGS.overwrite))
        return
    run = export_run(FLAGS.output_dir, FLAGS.export_dir, overwrite=FLAGS.overwrite)
    print(f"exported {run.summary()} to {FLAGS.export_dir}: {run.serving.contents()}")


def run(argv=None) -> None:
    """Console-script entry point (``enas-export``)."""
    run_main(main, FLAGS, __doc__, positional=False, argv=argv)


if __name__ == "__main__":
    run()
