"""`MicroChild`: the weight-shared micro-space network that serves every sampled architecture.

One `tf.function` trace serves any architecture: the architecture is an int32 tensor input, each
of the 2 * num_cells slots of a cell selects its input node from a TensorList and its op with a
lowered `tf.switch_case`, so only the sampled op runs (see `shared_cell.py`). Skeleton, calibration
and head follow docs/enas_reference.md §1.2: stem (3x3 conv to 3F, BN) -> N + 2 cells with reduction cells at
N // 3 and 2 * (N // 3) + 1 (F doubles there) -> ReLU -> global average pool -> dropout -> dense.
With ``stem="imagenet"`` the stem is `ImageNetStem` (three stride-2 convs to 3F channels): cell 0
reads (stem at 1/4, stem at 1/8 of the side) and factorized-reduces the first, so cells run at
1/8 of the image side (28 px for 224 px photos) instead of the full size.

Deviations from the shipped search code, deliberate:

* Reduction cells use the paper semantics (receive (h_{i-2}, h_{i-1}), stride 2 on nodes 0/1,
  factorized reduction for identity and loose inputs), so search and final training evaluate the
  same networks (pitfall P4 / ISSUE #48).
* Sharing is per (cell, node, slot, op); sep-conv weights are NOT additionally keyed by the chosen
  input node (P12 banks). Keying multiplies sep-conv parameters by the number of possible inputs
  (at search settings 1.30 M -> 5.18 M, the whole child 1.59 M -> 5.48 M weights, all updated by
  the optimizer every step), and the fixed network has one weight set per op, so input-keyed
  weights would be trained for a situation the final network never has.
* ``training=False`` (reward and validation) switches dropout off, while the original forced
  training mode everywhere (P6). BN always uses batch statistics, in both modes: there are no
  moving statistics, since an average over many random architectures describes none of them.
  Under ``MirroredStrategy`` every replica normalises with its own batch statistics and there is
  no BN state that could drift apart between replicas.
* Weights are He-initialised with the fan-in of one op's kernel, not of a 2-D bank (P12).
* With ``use_aux_heads`` (the authors' search script passes ``--child_use_aux_heads``) the
  auxiliary head of the final net (`AuxHead`, on the first cell after the second reduction)
  runs in training calls, which then return ``(logits, aux_logits)``; the image task adds
  ``aux_weight`` (0.4) times its cross-entropy. Its weights are trained and L2-regularised like
  every other weight; the original left them out of the optimizer (P3), so its search
  back-propagated through a frozen random head.

Every trainable variable gets a gradient on every step (zeros for slices of untaken ops), never
``None``: all variables are read in every trace, untaken `switch_case`/`cond` branches yield zeros.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from enas_tf2.errors import EnasError
from enas_tf2.layers.aux_head import AuxHead
from enas_tf2.layers.classifier_head import ClassifierHead
from enas_tf2.layers.factorized_reduction import FactorizedReduction
from enas_tf2.layers.conv_bn import ConvBn
from enas_tf2.layers.list_tracking import track_items
from enas_tf2.search_space.micro.shared_cell import shared_cell
from enas_tf2.search_space.micro.stem import build_stem, stem_levels, stem_pair
from enas_tf2.search_space.micro.weight_banks import SharedCellWeights


def calibrate_inputs(calibrations, h0, h1, training):
    """Applies a cell's input calibration ``(calib_0, calib_1)`` (either may be None): h0 is
    factorized-reduced (after a ReLU) when it is spatially larger, else 1x1-projected; h1 is
    1x1-projected when its width differs from F. Shared with the static benchmark model."""
    calib_0, calib_1 = calibrations
    if isinstance(calib_0, FactorizedReduction):
        h0 = calib_0(tf.nn.relu(h0), training=training)
    elif calib_0 is not None:
        h0 = calib_0(h0, training=training)
    if calib_1 is not None:
        h1 = calib_1(h1, training=training)
    return h0, h1


def reduction_cell_ids(num_layers: int):
    """Indices of the two reduction cells among the N + 2 cells (docs/enas_reference.md §1.2)."""
    third = num_layers // 3
    return (third, 2 * third + 1)


class MicroChild(keras.Model):
    """Weight-shared micro child: ``child(images, arch, training=...)`` -> logits ``[B, classes]``.

    Args:
        num_layers: N; the network has N + 2 cells, two of them reduction cells.
        num_cells: searched nodes per cell (the arch tensor is ``[2, num_cells, 4]``).
        out_filters: F of the first stage; doubles at each reduction cell.
        num_classes: logits.
        keep_prob: dropout keep probability before the classifier (``training=True`` only).
        stem: ``cifar`` (3x3 conv at full resolution) or ``imagenet`` (`ImageNetStem`, cells at
            1/8 of the side); the space resolves ``--child_stem=auto`` before this.
        use_aux_heads: an auxiliary head on the first cell after the second reduction; training
            calls then return ``(logits, aux_logits)``.

    Call ``build((None, H, W, 3))`` (e.g. under ``strategy.scope()``) to create every variable,
    including those of ops no architecture has sampled yet; variables must exist before tracing.
    """

    def __init__(self, num_layers: int = 6, num_cells: int = 5, out_filters: int = 20,
                 num_classes: int = 10, keep_prob: float = 0.9, stem: str = "cifar",
                 use_aux_heads: bool = False, **kwargs):
        # float32 throughout, also under a global mixed-precision policy: the slot functions
        # are traced for float32 (search runs on CPU, where float16 buys nothing).
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)
        if num_layers < 1 or num_cells < 1:
            raise EnasError(f"MicroChild needs num_layers >= 1 and num_cells >= 1, got "
                            f"num_layers={num_layers}, num_cells={num_cells}")
        if out_filters < 2 or out_filters % 2:
            raise EnasError(f"out_filters must be an even number >= 2, got {out_filters}")
        self.num_layers = int(num_layers)
        self.num_cells = int(num_cells)
        self.out_filters = int(out_filters)
        self.num_classes = int(num_classes)
        self.keep_prob = float(keep_prob)
        self.stem = build_stem(stem, self.out_filters, batch_stats_only=True, dtype="float32")
        self.stem_kind = stem
        self.head = ClassifierHead(self.num_classes, self.keep_prob, name="head",
                                   dtype="float32")
        self.use_aux_heads = bool(use_aux_heads)
        # As the final net (MicroNet): the first cell after the second reduction.
        self.aux_head_index = reduction_cell_ids(self.num_layers)[1] + 1
        self.aux_head = AuxHead(self.num_classes, name="aux_head", dtype="float32") \
            if self.use_aux_heads else None
        self.cell_weights, self.calibrations = [], []
        self._plan = []   # per cell: (reduction, h0 calibration kind, h1 calibration kind)
        filters, channels = self.out_filters, (3 * self.out_filters,) * 2
        level = stem_levels(stem)
        reductions = reduction_cell_ids(self.num_layers)
        for cell_id in range(self.num_layers + 2):
            reduction = cell_id in reductions
            if reduction:
                filters *= 2
            # Calibration (docs/enas_reference.md §1.2): a 2x larger h0 is factorized-reduced, otherwise any
            # input whose channel count differs from F gets ReLU -> 1x1 -> BN.
            kind_0 = ("reduce" if level[0] < level[1] else
                      "conv" if channels[0] != filters else None)
            kind_1 = "conv" if channels[1] != filters else None
            layers_0 = self._calibration(kind_0, filters, f"cell_{cell_id}_calib_0")
            layers_1 = self._calibration(kind_1, filters, f"cell_{cell_id}_calib_1")
            self.calibrations.append((layers_0, layers_1))
            self.cell_weights.append(SharedCellWeights(
                self.num_cells, filters, reduction, name=f"cell_{cell_id}", dtype="float32"))
            self._plan.append(reduction)
            channels = (channels[1], filters)
            level = (level[1], level[1] + int(reduction))
        track_items(self, "cell_weights", self.cell_weights)
        track_items(self, "calibrations", self.calibrations)

    @staticmethod
    def _calibration(kind, filters, name):
        if kind == "reduce":
            return FactorizedReduction(filters, 2, batch_stats_only=True, name=name,
                                       dtype="float32")
        if kind == "conv":
            return ConvBn(filters, batch_stats_only=True, name=name, dtype="float32")
        return None

    def build(self, input_shape):
        """Creates every variable of the network for images of ``input_shape`` (NHWC)."""
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise EnasError(f"MicroChild expects NHWC images with known channels, got shape "
                            f"{tuple(input_shape)}")
        batch = input_shape[0]
        self.stem.build(input_shape)
        # Uncalibrated (previous, current) output shapes.
        shapes = stem_pair(self.stem_kind, self.stem.compute_output_shape(input_shape))
        for cell_id, reduction in enumerate(self._plan):
            calibrated = []
            for layer, shape in zip(self.calibrations[cell_id], shapes):
                if layer is not None:
                    layer.build(shape)
                    shape = layer.compute_output_shape(shape)
                calibrated.append(shape)
            self.cell_weights[cell_id].build()
            filters = self.cell_weights[cell_id].filters
            h, w = calibrated[1][1], calibrated[1][2]
            if reduction:
                h = None if h is None else -(-h // 2)
                w = None if w is None else -(-w // 2)
            shapes = (shapes[1], (batch, h, w, filters))
            if self.aux_head is not None and cell_id == self.aux_head_index:
                self.aux_head.build(shapes[1])
        self.head.build(shapes[1])
        self.built = True

    def call(self, images, arch, training=False):
        """Logits of ``images`` for the architecture ``arch`` (int32 ``[2, num_cells, 4]``);
        ``(logits, aux_logits)`` in training calls with an auxiliary head."""
        arch = tf.convert_to_tensor(arch, dtype=tf.int32)
        # (previous, current) cell outputs as produced; each cell calibrates its own copies, the
        # next cell again receives the uncalibrated outputs (as the original code does).
        stem_out = self.stem(tf.cast(images, tf.float32), training=training)
        prev, cur = stem_pair(self.stem_kind, stem_out)
        aux_logits = None
        for cell_id, reduction in enumerate(self._plan):
            h0, h1 = self._calibrate(cell_id, prev, cur, training)
            prev, cur = cur, shared_cell(h0, h1, arch[int(reduction)],
                                         *self.cell_weights[cell_id].tensors(),
                                         num_cells=self.num_cells, reduction=reduction)
            if training and self.aux_head is not None and cell_id == self.aux_head_index:
                aux_logits = self.aux_head(cur, training=training)
        logits = self.head(cur, training=training)
        return (logits, aux_logits) if aux_logits is not None else logits

    def _calibrate(self, cell_id, h0, h1, training):
        """Brings both cell inputs to F channels and h1's spatial size (docs/enas_reference.md §1.2)."""
        return calibrate_inputs(self.calibrations[cell_id], h0, h1, training)

    def l2_loss(self):
        """Sum of squares of all trainable weights (no 1/2; the loop multiplies by l2_reg)."""
        return tf.add_n([tf.reduce_sum(tf.square(v)) for v in self.trainable_variables])

    def get_config(self):
        return {"name": self.name, "num_layers": self.num_layers, "num_cells": self.num_cells,
                "out_filters": self.out_filters, "num_classes": self.num_classes,
                "keep_prob": self.keep_prob, "stem": self.stem_kind,
                "use_aux_heads": self.use_aux_heads}
