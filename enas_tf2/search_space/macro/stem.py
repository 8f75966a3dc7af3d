"""The macro networks' stem, for the weight-shared child and the fixed net alike.

``cifar``: the ENAS stem, 3x3 conv to F -> BN at the input resolution (docs/enas_reference.md
§1.1). ``imagenet``: `ImageNetStem` to F channels; macro layers read ONE tensor (``prev[-1]``,
and ``prev[0]`` for skips), so they read only its last output, at 1/8 of the side. Its 1/4
output is still computed: it is the input of the stem's last convolution. `MacroSpace` resolves
``--child_stem=auto`` to one of these from the image size (`search_space/stem_choice.py`).
"""

from __future__ import annotations

import keras

from enas_tf2.search_space.stem_choice import build_stem_layer


def build_stem(stem: str, out_filters: int, batch_stats_only: bool, **kwargs) -> keras.layers.Layer:
    """The stem layer named ``"stem"`` ending at F = `out_filters` channels either way."""
    return build_stem_layer(stem, out_filters, batch_stats_only, "macro", **kwargs)


def stem_output(stem: str, outputs):
    """The one tensor (or shape) the layers read: the CIFAR stem's output, or the imagenet
    stem's second (1/8 of the side) output."""
    return outputs[1] if stem == "imagenet" else outputs
