"""Runs a console script's `main` so that user-facing problems end as ONE clear line.

`EnasError` (bad flag value, missing file, malformed architecture, NaN loss, ...) and the few
TensorFlow errors that users cause (corrupt data, out of memory) print ``error: ...`` on stderr
and exit with status 2; no stack trace. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import logging
import os
import sys

from absl import app
from absl import logging as absl_logging

from enas_tf2.errors import EnasError

# TensorFlow's C++ INFO/WARNING lines (CUDA probing on CPU hosts, oneDNN notes) bury the progress
# lines; keep errors only unless the user asked for more. Must be set before TensorFlow loads.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# TF 2.21 enables its oneDNN CPU kernels by default only on AVX-512-class CPUs; on AVX2 hosts they
# make the child's convolutions, BN and pooling 2-3x faster (bench/README.md, "oneDNN").
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

# TensorFlow errors a user can cause, with what to tell them. Matched by class name so that this
# module does not import TensorFlow (``--help`` stays fast).
_TF_ERRORS = {
    "DataLossError": "corrupt or truncated data file",
    "ResourceExhaustedError": "out of memory; lower --batch_size or --image_size",
}


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def setup_progress_logging() -> None:
    """Timestamped enas_tf2 progress lines on stderr (TensorFlow's INFO lines stay hidden)."""
    logger = logging.getLogger("enas_tf2")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    # absl's default verbosity is INFO, which lets TensorFlow's checkpoint INFO lines through.
    absl_logging.set_verbosity(absl_logging.WARNING)


def run_main(main) -> None:
    """`absl.app.run(main)` with user errors turned into one line and exit status 2."""

    def wrapped(argv):
        setup_progress_logging()
        try:
            return main(argv)
        except EnasError as err:
            print(f"error: {err}", file=sys.stderr)
            sys.exit(2)
        except KeyboardInterrupt:
            print("error: interrupted; checkpoints already saved are kept (rerun to resume)",
                  file=sys.stderr)
            sys.exit(130)
        except Exception as err:  # pylint: disable=broad-except
            hint = _TF_ERRORS.get(type(err).__name__)
            if hint and type(err).__module__.startswith("tensorflow"):
                print(f"error: {hint}: {_first_line(err)}", file=sys.stderr)
                sys.exit(2)
            raise

    app.run(wrapped)
