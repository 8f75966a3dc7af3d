"""`Nb201Net`: the NAS-Bench-201 network of one cell (the benchmark's ``TinyNetwork``).

Skeleton (C = out_filters, N = num_layers): stem (3x3 conv to C, BN) -> N cells at C ->
`ResNetBlock` to 2C (stride 2) -> N cells at 2C -> `ResNetBlock` to 4C -> N cells at 4C ->
BN -> ReLU -> global average pool -> dense with bias. Every cell is the same `Nb201Cell`.
With the benchmark's C=16, N=5 this is the network whose CIFAR-10 accuracy the benchmark table
records. Channels-last, any image size (odd sides round up at each reduction; at least 4 px).

BatchNorm keeps moving statistics (momentum 0.9 here; the benchmark's PyTorch BN uses 0.1 in
PyTorch's convention, the same thing).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from enas_tf2.errors import EnasError
from enas_tf2.layers.conv_bn import ConvBn
from enas_tf2.search_space.nb201.arch import Nb201Arch
from enas_tf2.search_space.nb201.blocks import ResNetBlock
from enas_tf2.search_space.nb201.cell import Nb201Cell
from enas_tf2.search_space.nb201.head import Nb201Head

NUM_STAGES = 3


def stage_layout(num_layers: int):
    """``[(kind, stage)]`` of the body in order: ``("cell", s)`` N times per stage, with a
    ``("reduce", s)`` block before stages 1 and 2."""
    layout = []
    for stage in range(NUM_STAGES):
        if stage:
            layout.append(("reduce", stage))
        layout.extend(("cell", stage) for _ in range(num_layers))
    return layout


@keras.saving.register_keras_serializable(package="enas_tf2")
class Nb201Net(keras.Model):
    """Fixed NAS-Bench-201 network for final training, evaluation, export and zero-cost scores.

    Args:
      arch: the cell (`Nb201Arch`); `from_config` passes its benchmark string.
      out_filters: C.
      num_layers: N, cells per stage.
      num_classes: logits.

    Call ``build((None, H, W, 3))`` to create every weight.
    """

    def __init__(self, arch: Nb201Arch, out_filters: int = 16, num_layers: int = 5,
                 num_classes: int = 10, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(arch, Nb201Arch):
            raise EnasError(f"Nb201Net needs an Nb201Arch, got {type(arch).__name__}")
        self.arch = arch
        self.out_filters = int(out_filters)
        self.num_layers = int(num_layers)
        self.num_classes = int(num_classes)
        self.stem = ConvBn(self.out_filters, kernel_size=3, relu_first=False, name="stem")
        # Named attributes, not list items: `tf.train.Checkpoint` does not follow Keras 3's lists.
        self._body = []
        count = {"cell": 0, "reduce": 0}
        for kind, stage in stage_layout(self.num_layers):
            name = f"{kind}_{count[kind]}"
            count[kind] += 1
            filters = self.out_filters * 2 ** stage
            layer = (Nb201Cell(arch.ops, filters, name=name) if kind == "cell"
                     else ResNetBlock(filters, name=name))
            setattr(self, name, layer)
            self._body.append(name)
        self.head = Nb201Head(self.num_classes, name="head")

    @property
    def body(self):
        """The cells and reduction blocks, in order."""
        return [getattr(self, name) for name in self._body]

    def build(self, input_shape):
        """Creates every weight from the image shape ``(B, H, W, C)``."""
        shape = tuple(input_shape)
        if len(shape) != 4:
            raise EnasError(f"Nb201Net expects NHWC images, got shape {shape}")
        self.stem.build(shape)
        shape = self.stem.compute_output_shape(shape)
        for layer in self.body:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.head.build(shape)
        self.built = True

    def forward(self, images, training=None, taps=None):
        """Logits; with a list `taps`, the input of every ReLU of the network is appended in
        order (see `relu_inputs`)."""
        x = self.stem(tf.cast(images, self.compute_dtype), training=training)
        if taps is None:   # through __call__, so Keras hooks (layer tables) see each layer
            for layer in self.body:
                x = layer(x, training=training)
            return self.head(x, training=training)
        for layer in self.body:
            x = layer.forward(x, training=training, taps=taps)
        return self.head.forward(x, training=training, taps=taps)

    def call(self, images, training=None):
        return self.forward(images, training)

    def relu_inputs(self, images, training=True):
        """The pre-activation tensor of every ReLU module of the network (one per conv edge, two
        per reduction block, one in the head), for zero-cost scores such as NASWOT."""
        taps = []
        self.forward(images, training=training, taps=taps)
        return taps

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    def count_params_trainable(self) -> int:
        """Number of trainable parameters (BN moving statistics excluded)."""
        return int(sum(np.prod(v.shape) for v in self.trainable_weights))

    def get_config(self):
        """Constructor arguments; the cell is stored as its benchmark string."""
        config = super().get_config()
        config.update(arch=self.arch.tokens(), out_filters=self.out_filters,
                      num_layers=self.num_layers, num_classes=self.num_classes)
        return config

    @classmethod
    def from_config(cls, config):
        """Inverse of `get_config` (the string becomes an `Nb201Arch` again)."""
        config = dict(config)
        config["arch"] = Nb201Arch.from_tokens(config["arch"])
        return cls(**config)
