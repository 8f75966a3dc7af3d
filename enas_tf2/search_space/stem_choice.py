"""Which stem a CNN space puts before its first cell (``--child_stem``), for which image sizes.

* ``cifar``: the ENAS stem, one 3x3 convolution at the full input resolution (`ConvBn`). Right
  for CIFAR's 32 px; at 224 px the first stage of cells runs at 224 px and a search no longer fits
  in memory.
* ``imagenet``: `ImageNetStem`, three stride-2 convolutions, so cells start at 1/8 of the side.
* ``auto``: ``cifar`` while both sides are at most `AUTO_CIFAR_MAX_SIDE` px, ``imagenet`` above
  (unless the shorter side is too small for it, e.g. a 200x20 strip, which keeps ``cifar``).

Spaces call `resolve_stem` with their number of stride-2 reductions after the stem; it returns
``cifar`` or ``imagenet`` and raises one `EnasError` line when the image is too small: every side
must be at least 2 ** (stem strides + reductions) px, so that the last stage still has one pixel
that is not padding (at 1/8 and two reductions: 32 px). Spatial sizes round up at each stride
(SAME padding), as every layer here does.
"""

from __future__ import annotations

from typing import Tuple

import keras

from enas_tf2.errors import EnasError
from enas_tf2.layers.conv_bn import ConvBn
from enas_tf2.layers.imagenet_stem import NUM_STRIDES, ImageNetStem

STEM_CHOICES = ("cifar", "imagenet", "auto")
# `auto` keeps the original stem up to this side: at 64 px its first stage costs 4x CIFAR's,
# which still fits a search at the usual batch sizes; above, memory grows quickly.
AUTO_CIFAR_MAX_SIDE = 64
STEM_STRIDES = {"cifar": 0, "imagenet": NUM_STRIDES}


def downsampled(side: int, strides: int) -> int:
    """A side after `strides` stride-2 SAME layers (rounded up each time)."""
    for _ in range(strides):
        side = -(-side // 2)
    return side


def min_image_side(stem: str, num_reductions: int) -> int:
    """The smallest image side `stem` followed by `num_reductions` reductions accepts."""
    return 2 ** (STEM_STRIDES[stem] + num_reductions)


def resolve_stem(choice: str, height: int, width: int, num_reductions: int) -> str:
    """``cifar`` or ``imagenet`` for ``--child_stem=choice`` and ``height x width`` images.

    Raises EnasError for an unknown choice or an image too small for the chosen stem.
    """
    if choice not in STEM_CHOICES:
        raise EnasError(f"unknown --child_stem={choice!r}: expected one of "
                        f"{', '.join(STEM_CHOICES)}")
    if choice == "auto":
        fits = min(height, width) >= min_image_side("imagenet", num_reductions)
        choice = "imagenet" if max(height, width) > AUTO_CIFAR_MAX_SIDE and fits else "cifar"
    smallest = min_image_side(choice, num_reductions)
    if min(height, width) < smallest:
        strides = STEM_STRIDES[choice]
        how = (f"the stem divides each side by {2 ** strides} and each reduction by 2"
               if strides else "each reduction divides each side by 2")
        hint = "; use larger images or --child_stem=cifar" if choice == "imagenet" else (
            "; use larger images")
        raise EnasError(f"images of {height}x{width} are too small for --child_stem={choice} "
                        f"with {num_reductions} reductions: each side must be at least "
                        f"{smallest} px ({how}){hint}")
    return choice


def stem_output_sizes(stem: str, height: int, width: int) -> Tuple[Tuple[int, int], ...]:
    """The (height, width) of each stem output the cells read: one for ``cifar`` (the input
    size), ``(1/4, 1/8)`` of the side for ``imagenet``."""
    if stem == "cifar":
        return ((height, width),)
    return tuple((downsampled(height, s), downsampled(width, s))
                 for s in (NUM_STRIDES - 1, NUM_STRIDES))


def floor_words(stem: str, first_stage: str, height: int, width: int) -> str:
    """`ActivationFloor.largest` of a CNN space whose `first_stage` (e.g. ``cells 0-1``) runs
    right after `stem`: where the memory goes, and the stem that would cut it when it is
    ``cifar`` (it keeps the full input size)."""
    if stem == "cifar":
        return (f"--child_stem=cifar keeps {first_stage} at the full {height}x{width}; "
                f"--child_stem=imagenet starts them at 1/{2 ** NUM_STRIDES} of each side")
    h, w = downsampled(height, NUM_STRIDES), downsampled(width, NUM_STRIDES)
    return f"{first_stage} run at {h}x{w} after the imagenet stem"


def build_stem_layer(stem: str, channels: int, batch_stats_only: bool, network: str,
                     **kwargs) -> keras.layers.Layer:
    """The stem layer named ``"stem"`` ending at `channels` channels: `ConvBn` (``cifar``) or
    `ImageNetStem` (``imagenet``). `network` ("micro", "macro") names the space in the error
    for any other value (``auto`` is resolved by the space before a network is built)."""
    if stem not in STEM_STRIDES:
        raise EnasError(f"the {network} network takes stem='cifar' or 'imagenet', got {stem!r} "
                        f"('auto' is resolved from the image size by "
                        f"{network.capitalize()}Space)")
    if stem == "imagenet":
        return ImageNetStem(channels, batch_stats_only=batch_stats_only, name="stem", **kwargs)
    return ConvBn(channels, kernel_size=3, relu_first=False, batch_stats_only=batch_stats_only,
                  name="stem", **kwargs)
