"""enas_tf2: ENAS (Pham et al., ICML 2018) on Keras 3 and TensorFlow 2.

    import enas_tf2
    cfg = enas_tf2.get_preset("cifar10_micro_search.smoke")
    found = enas_tf2.search(cfg)                     # SearchResult: arch, reward, output_dir
    final = enas_tf2.train_final(enas_tf2.get_preset("cifar10_micro_final.smoke"), found.arch)
    enas_tf2.export_model(final.output_dir, "exports/model")

Package map (read top-down; the README's "Where to read next" has the whole tree):
  api.py         the Python API every CLI and notebook calls
  cli/           absl flags and thin `main`s for the console scripts
  export/        generic SavedModel and LiteRT export and prediction (the task supplies
                 signatures and predictor)
  report/, render/, ranking/   reading and judging runs (never modifying them)
  training/      generic loops: search and final training, steps, pre-flight
  runs/          run safety: lock, rerun check, checkpoints, resume point, memory probe
  tasks/         the modality seam: image classification, language model (loss, metrics, serving)
  search_space/  the ONLY place that knows what architecture integers mean (micro, macro, nb201,
                 rnn), with each space's presets
  controller/    space-independent LSTM policy machinery and REINFORCE maths
  layers/        Keras layers shared by weight-shared children and fixed final models
  cost/          parameters, multiply-adds, latency tables and cost-aware objectives
  configs/, optim/, data/   ExperimentConfig and the preset registry; LR schedules; input
"""

from enas_tf2 import keras_objects as _keras_objects

__version__ = "0.2.0"

# (`export_model`, not `export`: importing the `export` subpackage would shadow the
# function.) The API is imported on first use: `import enas_tf2` stays light (no TensorFlow)
# for the CLIs.
_API = {"search": "api", "train_final": "api", "export_model": "api", "load_predictor": "api",
        "load_arch": "api",
        "parse_arch": "api", "dry_run": "api", "DryRun": "api", "SearchResult": "api",
        "FinalResult": "api", "oracle_search": "api", "naswot": "api", "nb201_truth": "api",
        "get_preset": "configs.presets", "preset_names": "configs.presets",
        "ExperimentConfig": "configs.base", "EnasError": "errors",
        "ImageDatasets": "data.images.user_datasets",
        # issue 22: hardware-aware search and LiteRT export (docs/deploy.md)
        "ObjectiveConfig": "configs.base", "export_litert": "export.litert",
        "LatencyTable": "cost.latency_table", "build_latency_table": "cost.latency_measure"}
__all__ = sorted(_API) + ["__version__"]

_keras_objects.install()


def __dir__():
    """The public API (what ``dir(enas_tf2)`` and tab completion show), loaded or not."""
    return sorted(set(__all__) | set(globals()))


def __getattr__(name):
    if name in _API:
        import importlib

        from enas_tf2.quiet_import import import_tensorflow
        # TensorFlow's C++ start-up lines (printed twice) would bury a notebook's output.
        import_tensorflow()
        return getattr(importlib.import_module(f"enas_tf2.{_API[name]}"), name)
    raise AttributeError(f"module 'enas_tf2' has no attribute {name!r}")
