"""Console scripts: thin `main`s of enas-cnn, enas-ptb, enas-arch, enas-convert, enas-export and
enas-predict over the Python API.

  entry.py                     one entry path: quiet TensorFlow import, one-line errors, --help
  flags/                       every training flag, defined once, in groups per tool
  cnn_config.py, ptb_config.py parsed flags -> ExperimentConfig (the only readers of FLAGS)
  overrides.py                 the preset + given-flags rule both tools use
"""
