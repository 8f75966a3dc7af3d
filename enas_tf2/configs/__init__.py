"""Configuration: shared dataclasses (`base.py`), the nested `ExperimentConfig` and named presets."""
