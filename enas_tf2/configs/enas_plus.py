"""The ``enas_plus`` search recipe, applied by every space with a controller (micro, macro,
nb201, rnn) to its search preset as ``<search preset>_plus`` (`search_space/<space>/presets.py`).
Not the paper: the faithful presets stay its reproduction; this is what the NAS-Bench-201 measurements of issue 21 support
(bench/README.md, "A search that beats random"; docs/searching.md).

What changes, on the controller only (the child, its data and its optimiser are the faithful
preset's):

* advantage normalisation (``adv_norm``): ``(R - b)`` divided by its running std, the first
  sample sets the baseline. With accuracy rewards the raw advantage is ~0.01, so the gradient
  sits below Adam's epsilon of 1e-3 and the policy hardly moves;
* one sample per Adam step (``num_aggregate=1``) at ``lr=0.01``, ``bl_dec=0.9``, Adam
  ``beta_1=0, epsilon=1e-3`` in every space (PTB's enas_lm controller had 0.9 / 1e-8);
* ``train_steps=50`` controller samples per epoch (the paper: 250-1000), so the shared weights
  get most of the compute;
* a uniform warm-up (``warmup_epochs``, a tenth of the epochs): the shared weights train on
  uniformly random architectures before the controller starts, so its first rewards do not
  just echo the ops it happened to pick first.
"""

from __future__ import annotations

import dataclasses

from enas_tf2.configs.base import ExperimentConfig

PLUS_SUFFIX = "_plus"
PLUS_CONTROLLER = {"adv_norm": True, "lr": 0.01, "num_aggregate": 1, "bl_dec": 0.9,
                   "adam_beta1": 0.0, "adam_epsilon": 1e-3, "train_steps": 50}
WARMUP_FRACTION = 10   # warm-up epochs = num_epochs // WARMUP_FRACTION (at least 1)


def enas_plus(cfg: ExperimentConfig) -> ExperimentConfig:
    """`cfg` (a search preset) with the ``enas_plus`` controller recipe and its output folder
    suffixed ``_plus``; the space, child and data settings are unchanged."""
    controller = dataclasses.replace(cfg.controller, **PLUS_CONTROLLER,
                                     warmup_epochs=max(1, cfg.run.num_epochs // WARMUP_FRACTION))
    run = dataclasses.replace(cfg.run, output_dir=cfg.run.output_dir + PLUS_SUFFIX)
    return cfg.replace(controller=controller, run=run)


def plus_smoke(smoke):
    """The faithful preset's smoke shrinking, then one warm-up epoch of the two."""
    def shrink(cfg: ExperimentConfig) -> ExperimentConfig:
        small = smoke(cfg)
        return small.replace(controller=dataclasses.replace(small.controller, warmup_epochs=1))
    return shrink
