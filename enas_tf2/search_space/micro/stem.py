"""The micro networks' stem, for the weight-shared child and the fixed net alike.

``cifar``: the ENAS stem, 3x3 conv to 3F -> BN at the input resolution; cell 0 reads
``(stem, stem)``. ``imagenet``: `ImageNetStem` to 3F channels at 1/4 and 1/8 of the side; cell 0
reads ``(1/4, 1/8)`` and factorized-reduces the first, as after a reduction cell. `MicroSpace`
resolves ``--child_stem=auto`` to one of these from the image size (`search_space/stem_choice.py`).
"""

from __future__ import annotations

import keras

from enas_tf2.search_space.stem_choice import build_stem_layer


def build_stem(stem: str, out_filters: int, batch_stats_only: bool, **kwargs) -> keras.layers.Layer:
    """The stem layer named ``"stem"`` for F = `out_filters` (both stems end at 3F channels)."""
    return build_stem_layer(stem, 3 * out_filters, batch_stats_only, "micro", **kwargs)


def stem_pair(stem: str, outputs):
    """The first cell's ``(h0, h1)`` from the output (or output shape) of a `stem` stem:
    ``(x, x)`` for the CIFAR stem's one output, the imagenet stem's pair as it is."""
    return tuple(outputs) if stem == "imagenet" else (outputs, outputs)


def stem_levels(stem: str):
    """How many reductions (2x) each of ``(h0, h1)`` of cell 0 is below the stem's first output:
    the imagenet stem's h1 is one level below its h0, like after a reduction cell."""
    return (0, 1) if stem == "imagenet" else (0, 0)
