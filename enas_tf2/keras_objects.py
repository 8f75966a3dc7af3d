"""Registers the package's Keras classes (the fixed networks) as soon as Keras is imported, so
that ``keras.models.load_model("model.keras")`` works after a plain ``import enas_tf2``.

Keras finds a custom class of a `.keras` file only in its registry (`register_keras_serializable`
runs when the class's module is imported). Importing every network at ``import enas_tf2`` would
load TensorFlow for every console script, ``--help`` included; so instead, if Keras is not loaded
yet, a one-shot import hook imports the network modules right after Keras itself finishes
loading.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

# Modules whose import registers a Keras class that `.keras` files name.
MODULES = ("enas_tf2.search_space.micro.net", "enas_tf2.search_space.macro.net",
           "enas_tf2.search_space.rnn.net",
           "enas_tf2.search_space.nb201.net")


def register_all() -> None:
    """Imports every module of `MODULES` that exists (spaces may be absent in a trimmed copy)."""
    for name in MODULES:
        if importlib.util.find_spec(name.rsplit(".", 1)[0]) is not None:
            try:
                importlib.import_module(name)
            except ModuleNotFoundError as err:
                if err.name != name:
                    raise


class _AfterKerasImport(importlib.abc.MetaPathFinder):
    """Finds ``keras`` through the other finders and runs `register_all` after it loads."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "keras":
            return None
        # Out of the way while the other finders look (so we do not find ourselves); back in
        # afterwards, since a mere probe (TensorFlow checks whether keras exists without
        # importing it) must not use up the hook. It leaves once keras really loads.
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec("keras")
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_register(module):
            exec_module(module)
            if self in sys.meta_path:
                sys.meta_path.remove(self)
            register_all()
        spec.loader.exec_module = exec_then_register
        return spec


def install() -> None:
    """Registers now when Keras is loaded, else once it is."""
    if "keras" in sys.modules:
        register_all()
    elif not any(isinstance(f, _AfterKerasImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterKerasImport())
