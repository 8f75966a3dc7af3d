"""`MicroNet`: the fixed final-training network of one micro architecture (docs/enas_reference.md §1.2, §4.4).

Skeleton: stem (3x3 conv to 3F → BN) → cells 0..N+1 (reduction cells at N//3 and 2·(N//3)+1,
where F doubles and the spatial size halves with real stride-2 ops) → ReLU → global average pool
→ dropout → dense without bias. Optional auxiliary head on the first cell after the second
reduction (trained, fixing pitfall P3). Channels-last throughout (pitfall P11). With
``stem="imagenet"`` the stem is `ImageNetStem` (stride-2 convs to 1/8 of the side) and cell 0
reads its two outputs (1/4 and 1/8), as in NASNet/DARTS ImageNet models.

It is a separate class from the weight-shared search child but is built from the same layers
(`enas_tf2.layers`), so a cell computes the same maths in search and in final training.

Distribution: BatchNorm moving statistics are `aggregation="mean"` variables (see
`enas_tf2.layers.batch_norm`), so under `MirroredStrategy` every update is the average of the
replicas' updates and the copies stay identical; normalisation during training uses each replica's
own batch statistics (no cross-replica sync, as in the original's per-GPU BN).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from enas_tf2.errors import EnasError
from enas_tf2.layers.aux_head import AuxHead
from enas_tf2.layers.classifier_head import ClassifierHead
from enas_tf2.layers.drop_path import DropPath
from enas_tf2.search_space.micro.arch import MicroArch
from enas_tf2.search_space.micro.fixed_cell import FixedCell
from enas_tf2.search_space.micro.stem import build_stem, stem_pair

# Default of `seed` (any fixed int: a rerun must draw the same masks).
DEFAULT_SEED = 0x4D494352   # "MICR"


def reduction_cell_indices(num_layers: int):
    """Indices of the two reduction cells among the ``num_layers + 2`` cells (docs/enas_reference.md §1.2)."""
    return (num_layers // 3, 2 * (num_layers // 3) + 1)


@keras.saving.register_keras_serializable(package="enas_tf2")
class MicroNet(keras.Model):
    """Fixed micro network for final training, evaluation and export.

    Args:
      arch: the architecture.
      num_layers: N; the network has N + 2 cells.
      num_cells: nodes per cell (must match `arch`).
      out_filters: F of the first stage (doubled at each reduction cell).
      num_classes: number of logits.
      keep_prob: dropout keep probability before the classifier (training only).
      drop_path_keep_prob: drop-path keep probability of the last cell at the last step
        (1.0 = off); the schedule is in `DropPath`.
      use_aux_heads: build the auxiliary head (loss weight is the training loop's business).
      total_steps: number of training steps of the run (drop-path schedule length).
      stem: ``cifar`` (3x3 conv at full resolution) or ``imagenet`` (`ImageNetStem`); the space
        resolves ``--child_stem=auto`` before this.
      seed: seed of the dropout and drop-path masks (the head draws with ``seed``, the drop path
        of cell ``l`` with ``seed + 1 + l``).

    Call contract::

        logits = net(images, training=False)                             # [B, num_classes]
        logits = net(images, training=True)                              # no aux head
        logits, aux_logits = net(images, training=True)                  # with use_aux_heads

    ``images`` are standardised NHWC float images. With ``use_aux_heads`` a training call returns
    the tuple ``(logits, aux_logits)`` (the auxiliary head only runs in training, as in ENAS); every
    other call returns the logits tensor. The drop-path schedule runs on the net's own count of
    training calls (the variable ``drop_path_step``, saved with the weights so a resumed run
    continues the schedule); ``step=`` overrides it (0-based global step). The drop-path masks
    are stateless draws keyed by that step and the dropout mask by the head's own saved count
    (`stream_seed`), so a resumed run draws the masks the uninterrupted run drew.
    """

    def __init__(self, arch, num_layers: int, num_cells: int, out_filters: int,
                 num_classes: int, keep_prob: float = 1.0, drop_path_keep_prob: float = 1.0,
                 use_aux_heads: bool = False, total_steps: int = 1, stem: str = "cifar",
                 seed: int = DEFAULT_SEED, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(arch, MicroArch):
            raise EnasError(f"MicroNet takes a MicroArch, got {type(arch).__name__}")
        self.arch = arch
        if self.arch.num_cells != num_cells:
            raise EnasError(f"the architecture has {self.arch.num_cells} nodes per cell but "
                            f"num_cells={num_cells}")
        if num_layers < 1 or out_filters < 2 or out_filters % 2:
            raise EnasError(f"need num_layers >= 1 and an even out_filters >= 2, got "
                            f"num_layers={num_layers}, out_filters={out_filters}")
        self.num_layers = int(num_layers)
        self.num_cells = int(num_cells)
        self.out_filters = int(out_filters)
        self.num_classes = int(num_classes)
        self.keep_prob = float(keep_prob)
        self.drop_path_keep_prob = float(drop_path_keep_prob)
        self.use_aux_heads = bool(use_aux_heads)
        self.total_steps = int(total_steps)
        self.seed = int(seed)
        self.reduction_indices = reduction_cell_indices(self.num_layers)
        self.aux_head_index = self.reduction_indices[1] + 1
        total_cells = self.num_layers + 2

        self.stem = build_stem(stem, self.out_filters, batch_stats_only=False)
        self.stem_kind = stem
        # Each cell is a named attribute, not a list item: `tf.train.Checkpoint` does not follow
        # Keras 3's tracked lists, so weights held only in a list would be silently left out of
        # the training checkpoints.
        self._cell_attrs = tuple(f"cell_{index}" for index in range(total_cells))
        filters = self.out_filters
        for index in range(total_cells):
            reduction = index in self.reduction_indices
            filters *= 2 if reduction else 1
            drop_path = DropPath(self.drop_path_keep_prob, index, total_cells, self.total_steps,
                                 seed=self.seed + 1 + index, name=f"drop_path_{index}")
            setattr(self, self._cell_attrs[index],
                    FixedCell(self.arch, "reduce" if reduction else "normal", filters,
                              drop_path=drop_path, name=f"cell_{index}"))
        self.aux_head = AuxHead(self.num_classes, name="aux_head") if self.use_aux_heads else None
        self.head = ClassifierHead(self.num_classes, self.keep_prob, seed=self.seed, name="head")

    @property
    def cells(self):
        """The ``num_layers + 2`` cells, in order."""
        return [getattr(self, name) for name in self._cell_attrs]

    def build(self, input_shape):
        """Creates every weight (aux head included) from the image shape ``(B, H, W, 3)``."""
        shape = tuple(input_shape)
        self.stem.build(shape)
        prev = list(stem_pair(self.stem_kind, self.stem.compute_output_shape(shape)))
        for index, cell in enumerate(self.cells):
            cell.build(prev)
            prev = [prev[1], cell.compute_output_shape(prev)]
            if self.aux_head is not None and index == self.aux_head_index:
                self.aux_head.build(prev[1])
        self.head.build(prev[1])
        # The drop-path schedule needs the training step; the net counts its own training calls
        # so that no training loop has to know about drop path. Under a strategy every replica
        # counts the same calls, so the first replica's count is kept.
        self.drop_path_step = self.add_weight(
            name="drop_path_step", shape=(), dtype="int64", initializer="zeros",
            trainable=False, aggregation="only_first_replica")

    def call(self, images, training=None, step=None):
        """Logits (and aux logits in training with an aux head); `step` overrides the net's
        own count of training calls for the drop-path schedule (0-based)."""
        if training and step is None:
            # A copy read before the increment: `.value` is the variable itself, which would
            # read the incremented count (a 1-based step) wherever `step` is used below.
            step = tf.identity(self.drop_path_step.value)
            self.drop_path_step.assign_add(1)
        prev = list(stem_pair(self.stem_kind, self.stem(images, training=training)))
        aux_logits = None
        for index, cell in enumerate(self.cells):
            x = cell(prev, training=training, step=step)
            prev = [prev[1], x]
            if training and self.aux_head is not None and index == self.aux_head_index:
                aux_logits = self.aux_head(x, training=training)
        logits = self.head(x, training=training)
        return (logits, aux_logits) if aux_logits is not None else logits

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    def get_config(self):
        """Constructor arguments; the architecture is stored as its token string."""
        config = super().get_config()
        config.update(arch=self.arch.tokens(), num_layers=self.num_layers,
                      num_cells=self.num_cells, out_filters=self.out_filters,
                      num_classes=self.num_classes, keep_prob=self.keep_prob,
                      drop_path_keep_prob=self.drop_path_keep_prob,
                      use_aux_heads=self.use_aux_heads, total_steps=self.total_steps,
                      stem=self.stem_kind, seed=self.seed)
        return config

    @classmethod
    def from_config(cls, config):
        """Inverse of `get_config` (the token string becomes a `MicroArch` again)."""
        config = dict(config)
        config["arch"] = MicroArch.from_tokens(config["arch"])
        return cls(**config)
