"""`MacroNet`: the fixed final-training network of one macro architecture (docs/enas_reference.md
§1.1, fixed mode).

Skeleton: stem (3x3 conv to F -> BN, no ReLU) -> layers 0..L-1 (`MacroFixedLayer`: pre-activation
op, concat-skips -> ReLU -> 1x1 -> BN) -> global average pool (no ReLU) -> dropout -> dense
without bias. After each pool layer (``L//3 - 1``, ``2(L//3) - 1``) the channel count doubles
(F -> 2F -> 4F) and every tensor kept for later skips (the stem included) is replaced by its
factorized reduction to the new width (stride 2, no ReLU). No auxiliary head, no drop path (the
original's macro network ignores both flags). Channels-last, any image size (odd sizes round up
at each reduction). With ``stem="imagenet"`` the stem is `ImageNetStem` (three stride-2 convs to
F channels) and the layers read its output at 1/8 of the side (`stem.py`).

Search and final networks differ as in the original (pitfall P4): the search child is
post-activation with summed skips and BN. `fixed_ops` chooses between separable ops and pools
as named (default) and the original's final networks (ops 1/3 built as regular convolutions,
pools refused).

BatchNorm moving statistics are ``aggregation="mean"`` variables (`enas_tf2.layers.batch_norm`),
so replicas under ``MirroredStrategy`` keep identical copies.
"""

from __future__ import annotations

import keras

from enas_tf2.errors import EnasError
from enas_tf2.layers.classifier_head import ClassifierHead
from enas_tf2.layers.factorized_reduction import FactorizedReduction
from enas_tf2.search_space.macro.arch import MacroArch
from enas_tf2.search_space.macro.config import FIXED_OPS_MODES
from enas_tf2.search_space.macro.fixed_layer import MacroFixedLayer
from enas_tf2.search_space.macro.stem import build_stem, stem_output


@keras.saving.register_keras_serializable(package="enas_tf2")
class MacroNet(keras.Model):
    """Fixed macro network for final training, evaluation and export.

    Args:
      arch: the architecture (`MacroArch`); `from_config` passes its token string.
      out_filters: F of the first stage (doubled at each pool layer).
      num_classes: number of logits.
      keep_prob: dropout keep probability before the classifier (training only).
      fixed_ops: ``"as_named"`` (real separable convs and pools) or ``"original"``
        (separable ops as regular convs; pools refused with EnasError).
      stem: ``cifar`` (3x3 conv at full resolution) or ``imagenet`` (`ImageNetStem`); the space
        resolves ``--child_stem=auto`` before this.

    Call: ``logits = net(images, training=...)`` -> ``[B, num_classes]``.
    """

    def __init__(self, arch: MacroArch, out_filters: int, num_classes: int,
                 keep_prob: float = 1.0, fixed_ops: str = "as_named", stem: str = "cifar",
                 **kwargs):
        super().__init__(**kwargs)
        if not isinstance(arch, MacroArch):
            raise EnasError(f"MacroNet takes a MacroArch, got {type(arch).__name__}; parse "
                            f"token strings with MacroArch.from_tokens")
        if out_filters < 2 or out_filters % 2:
            raise EnasError(f"out_filters must be an even number >= 2, got {out_filters}")
        if fixed_ops not in FIXED_OPS_MODES:
            raise EnasError(f"fixed_ops must be one of {', '.join(FIXED_OPS_MODES)}, got "
                            f"{fixed_ops!r}")
        self.arch = arch
        self.out_filters = int(out_filters)
        self.num_classes = int(num_classes)
        self.keep_prob = float(keep_prob)
        self.fixed_ops = fixed_ops
        self.stem = build_stem(stem, self.out_filters, batch_stats_only=False)
        self.stem_kind = stem
        # Named attributes, not list items: `tf.train.Checkpoint` does not follow Keras 3's
        # tracked lists, so list-held layers would be left out of the training checkpoints.
        self._layer_attrs, self._reduce_attrs = [], []
        filters = self.out_filters
        for i, layer in enumerate(arch.layers):
            name = f"layer_{i}"
            setattr(self, name, MacroFixedLayer(i, layer.op, layer.skips, filters,
                                                fixed_ops, name=name))
            self._layer_attrs.append(name)
            if i in arch.pool_layers:
                filters *= 2
                names = tuple(f"reduce_{i}_{j}" for j in range(i + 2))
                for reducer in names:
                    setattr(self, reducer, FactorizedReduction(filters, 2, name=reducer))
                self._reduce_attrs.append(names)
            else:
                self._reduce_attrs.append(())
        self.head = ClassifierHead(self.num_classes, self.keep_prob, relu_first=False,
                                   name="head")

    @property
    def fixed_layers(self):
        """The L `MacroFixedLayer`s, in order."""
        return [getattr(self, name) for name in self._layer_attrs]

    def _reducers(self, i):
        return [getattr(self, name) for name in self._reduce_attrs[i]]

    def build(self, input_shape):
        """Creates every weight from the image shape ``(B, H, W, 3)``."""
        shape = tuple(input_shape)
        self.stem.build(shape)
        prev = [stem_output(self.stem_kind, self.stem.compute_output_shape(shape))]
        for i, layer in enumerate(self.fixed_layers):
            layer.build(prev)
            prev.append(layer.compute_output_shape(prev))
            reducers = self._reducers(i)
            for reducer, p in zip(reducers, prev):
                reducer.build(p)
            if reducers:
                prev = [r.compute_output_shape(p) for r, p in zip(reducers, prev)]
        self.head.build(prev[-1])
        self.built = True

    def call(self, images, training=None):
        prev = [stem_output(self.stem_kind, self.stem(images, training=training))]
        for i, layer in enumerate(self.fixed_layers):
            prev.append(layer(prev, training=training))
            reducers = self._reducers(i)
            if reducers:
                prev = [r(p, training=training) for r, p in zip(reducers, prev)]
        return self.head(prev[-1], training=training)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    def get_config(self):
        """Constructor arguments; the architecture is stored as its token string."""
        config = super().get_config()
        config.update(arch=self.arch.tokens(), out_filters=self.out_filters,
                      num_classes=self.num_classes, keep_prob=self.keep_prob,
                      fixed_ops=self.fixed_ops, stem=self.stem_kind)
        return config

    @classmethod
    def from_config(cls, config):
        """Inverse of `get_config` (the token string becomes a `MacroArch` again)."""
        config = dict(config)
        config["arch"] = MacroArch.from_tokens(config["arch"])
        return cls(**config)
