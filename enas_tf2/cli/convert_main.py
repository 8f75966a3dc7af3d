"""`enas-convert`: turn CIFAR-10, a folder of class folders, or an arrays file into TFRecord shards.

  enas-convert --source=image_folder --input=photos/ --output_dir=data/photos_tfr --max_side=512
  enas-convert --source=cifar10 --input=data/cifar10 --output_dir=data/cifar10_tfr
  enas-convert --source=arrays --input=my_arrays.npz --output_dir=data/arrays_tfr

Writes ``{train,valid,test}-NNNNN-of-NNNNN.tfrecord``, ``labels.json`` and ``manifest.json``
(counts, shard checksums, image sizes, normalisation statistics, skipped files) into --output_dir.
Also runnable as ``python -m enas_tf2.cli.convert_main``.
"""

from __future__ import annotations

import os
import sys
import time

from absl import flags as absl_flags

from enas_tf2.data.convert.convert import convert   # TensorFlow-free until the input is validated
from enas_tf2.cli.entry import import_tensorflow, run_main
from enas_tf2.errors import EnasError

# A private FlagValues: `--output_dir`/`--seed` also exist in enas-cnn's flags, and both modules
# may be imported in one process (tests), where shared global flags would collide.
FLAGS = absl_flags.FlagValues()
absl_flags.DEFINE_string("source", None, "What --input is: cifar10 | image_folder | arrays.",
                         flag_values=FLAGS)
absl_flags.DEFINE_string("input", None, "cifar10: the cifar-10-batches-py (or -bin) folder or its "
                         "parent; image_folder: ROOT/<class>/<images> or ROOT/{train,valid,test}/"
                         "<class>/<images>; arrays: a .npz or pickle file.", flag_values=FLAGS)
absl_flags.DEFINE_string("output_dir", None, "Folder for the shards, labels.json and manifest.json "
                         "(created; must not already hold a conversion).", flag_values=FLAGS)
absl_flags.DEFINE_integer("num_shards", 0, "Shards per split (capped at the split's image count); "
                          "0 = about one per 64 MiB of source data.", flag_values=FLAGS)
absl_flags.DEFINE_integer("max_side", 0, "Shrink images whose longer side exceeds this many "
                          "pixels, keeping the aspect ratio (0 = keep sizes).", flag_values=FLAGS)
absl_flags.DEFINE_float("valid_fraction", None, "Share of each class for the valid split. Default: "
                        "0.1 for an unsplit folder/array pool, 0 for cifar10 (>0 takes the tail of "
                        "its training batches, like the original code).", flag_values=FLAGS)
absl_flags.DEFINE_float("test_fraction", None, "Share of each class for the test split (default "
                        "0.1; not for cifar10, whose test batch is the test split).",
                        flag_values=FLAGS)
absl_flags.DEFINE_integer("seed", 0, "Seeds the split and the record order; the same input and "
                          "seed give byte-identical shards.", flag_values=FLAGS)
absl_flags.DEFINE_bool("strict", False, "Stop with an error at the first unreadable file instead "
                       "of listing it under 'skipped' in manifest.json.", flag_values=FLAGS)
absl_flags.DEFINE_integer("num_workers", 0, "Decoding threads (0 = CPU count).", flag_values=FLAGS)

_MAX_SKIPPED_SHOWN = 10


def _summary(manifest: dict, output_dir: str, seconds: float) -> str:
    counts = ", ".join(f"{split} {entry['count']}" for split, entry in manifest["splits"].items())
    total = sum(entry["count"] for entry in manifest["splits"].values())
    return (f"converted {total} images ({counts}; {manifest['num_classes']} classes, "
            f"{len(manifest['skipped'])} skipped) into {output_dir} in {seconds:.1f} s")


def main(argv) -> None:
    """Runs one conversion with the parsed flags."""
    del argv
    if not FLAGS.source:
        raise EnasError("no --source given: expected cifar10, image_folder or arrays")
    # Before TensorFlow's first import (after the plan, see `before_write`): its C++ error lines
    # (libjpeg's "Premature end of JPEG data" for files we list as skipped anyway) would bury the
    # summary. `entry` set level 2 by default; a user's own setting is kept.
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "2":
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"

    start = time.monotonic()
    manifest = convert(FLAGS.source, FLAGS.input, FLAGS.output_dir, num_shards=FLAGS.num_shards,
                       max_side=FLAGS.max_side, valid_fraction=FLAGS.valid_fraction,
                       test_fraction=FLAGS.test_fraction, seed=FLAGS.seed, strict=FLAGS.strict,
                       num_workers=FLAGS.num_workers or None, progress_stream=sys.stderr,
                       before_write=import_tensorflow)
    skipped = manifest["skipped"]
    for entry in skipped[:_MAX_SKIPPED_SHOWN]:
        print(f"skipped {entry['path']}: {entry['reason']}", file=sys.stderr)
    if len(skipped) > _MAX_SKIPPED_SHOWN:
        print(f"... and {len(skipped) - _MAX_SKIPPED_SHOWN} more skipped files (manifest.json)",
              file=sys.stderr)
    print(_summary(manifest, FLAGS.output_dir, time.monotonic() - start))


def run(argv=None) -> None:
    """Console-script entry point (``enas-convert``)."""
    run_main(main, FLAGS, __doc__, positional=False, argv=argv,
             interrupted="interrupted; the partial shards were removed")


if __name__ == "__main__":
    run()
