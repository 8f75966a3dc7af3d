"""The downsampling stem of NASNet/DARTS ImageNet models, for photos larger than CIFAR's 32 px.

The ENAS (CIFAR) stem is one 3x3 convolution at the full input resolution, so the first stage of
cells runs at the image size and a search's memory grows with the square of the image side (a
224 px micro search at batch 32 did not fit in 24 GB). This stem first brings the image to 1/8 of
its side with three stride-2 3x3 convolutions, as DARTS' ImageNet network does (its stem0 and
stem1), so 224 px photos reach the cells at 28 px and 320x160 ones at 40x20::

    stem0: conv 3x3 s2 (C/2) -> BN -> ReLU -> conv 3x3 s2 (C) -> BN          1/4 of the side
    stem1: ReLU -> conv 3x3 s2 (C) -> BN                                     1/8 of the side

Both outputs are returned: like NASNet and DARTS, the first cell reads ``(h0, h1) = (stem0,
stem1)`` and, h0 being twice h1's size, factorized-reduces h0 (the cells' usual calibration after a
reduction), so the first cell still sees 1/4-resolution detail. The second cell reads ``(stem1,
cell 0)``. The ENAS CIFAR stem instead feeds ``(stem, stem)``.

Differences from DARTS, deliberate: C is the micro stem's 3F (e.g. 60 for F=20, DARTS uses 48) so
the cells' input calibration is the same for both stems, and the convolutions have no bias (BN
follows each one). SAME padding: an odd side is rounded up at every stride (225 -> 113 -> 57 ->
29), which works for any size, square or not.
"""

from __future__ import annotations

import keras

from enas_tf2.errors import EnasError
from enas_tf2.layers.conv_bn import ConvBn

# The stem's three stride-2 convolutions divide each side by 2 ** 3.
NUM_STRIDES = 3


class ImageNetStem(keras.layers.Layer):
    """Three stride-2 conv-BN stages; ``stem(images)`` -> ``(h0 at 1/4, h1 at 1/8)`` of the side.

    Args:
        filters: C, the channels of both outputs (the first convolution has C/2); even.
        batch_stats_only: BN mode of every convolution, see :class:`BatchNorm` (True in the
            weight-shared search child, False in the fixed network).

    ``compute_output_shape`` returns the pair of output shapes (sides rounded up at each stride).
    """

    def __init__(self, filters: int, batch_stats_only: bool = False, **kwargs):
        super().__init__(**kwargs)
        if filters < 2 or filters % 2:
            raise EnasError(f"the imagenet stem needs an even number of filters >= 2, got "
                            f"{filters}")
        self.filters = int(filters)
        self.batch_stats_only = bool(batch_stats_only)
        common = dict(kernel_size=3, strides=2, batch_stats_only=self.batch_stats_only,
                      dtype=self.dtype_policy)
        # stem0 = conv_0 -> conv_1 (ReLU in front of conv_1), stem1 = conv_2 (ReLU in front).
        self.conv_0 = ConvBn(self.filters // 2, relu_first=False, name="conv_0", **common)
        self.conv_1 = ConvBn(self.filters, relu_first=True, name="conv_1", **common)
        self.conv_2 = ConvBn(self.filters, relu_first=True, name="conv_2", **common)

    def build(self, input_shape):
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise EnasError(f"the imagenet stem expects NHWC images with known channels, got "
                            f"shape {tuple(input_shape)}")
        shape = tuple(input_shape)
        for conv in (self.conv_0, self.conv_1, self.conv_2):
            conv.build(shape)
            shape = conv.compute_output_shape(shape)

    def call(self, images, training=None):
        h0 = self.conv_1(self.conv_0(images, training=training), training=training)
        h1 = self.conv_2(h0, training=training)
        return h0, h1

    def compute_output_shape(self, input_shape):
        h0 = self.conv_1.compute_output_shape(self.conv_0.compute_output_shape(input_shape))
        return h0, self.conv_2.compute_output_shape(h0)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, batch_stats_only=self.batch_stats_only)
        return config
