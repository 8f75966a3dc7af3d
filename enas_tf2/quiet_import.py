"""Importing TensorFlow without its C++ start-up lines (CUDA probing on CPU hosts, oneDNN and
CPU-feature notices), which TensorFlow prints twice and before any log level applies.

The command-line tools and the Python API (``enas_tf2.search`` and the other names the package
loads on first use) both import TensorFlow through `import_tensorflow`, so a notebook shows the
run's progress, not a page of start-up noise; ``show_startup=True`` (the tools' ``--verbosity``)
lets the lines through.
"""

from __future__ import annotations

import os
import sys


def import_tensorflow(show_startup: bool = False):
    """Imports TensorFlow and Keras (and probes the devices, which also prints) with the
    process's stderr muted, unless `show_startup` or TensorFlow is already loaded. Device
    probing does not initialise devices, so a later CPU split for `MirroredStrategy` still
    works. Returns the module."""
    if "tensorflow" in sys.modules or show_startup:
        import tensorflow as tf
        return tf
    sys.stderr.flush()
    try:
        saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    except OSError:           # no file descriptor 2 (some embedded interpreters)
        import tensorflow as tf
        return tf
    os.dup2(null, 2)
    try:
        import tensorflow as tf
        import keras  # noqa: F401  pylint: disable=unused-import (its start-up lines too)
        tf.config.list_physical_devices()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)
    return tf
