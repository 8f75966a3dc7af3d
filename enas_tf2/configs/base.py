"""Typed configuration. The CLI turns absl flags into these once; library code takes them as args.

Defaults are the original code's defaults unless noted; the `scripts/*.sh` files set the values of
the authors' scripts (see ENAS_SPEC §4.5).
"""

from __future__ import annotations

import dataclasses
from typing import Optional, Tuple

from enas_tf2.errors import EnasError


def parse_image_size(value) -> Optional[Tuple[int, int]]:
    """Parses ``--image_size``: ``None``/"" (dataset's native size), ``"224"`` or ``"320x160"`` (HxW).

    Returns ``(height, width)`` or ``None``. Raises EnasError naming the bad value.
    """
    if value is None or value == "" or value == 0:
        return None
    if isinstance(value, int):
        sizes = [value, value]
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        sizes = list(value)
    else:
        text = str(value).strip().lower()
        parts = text.split("x")
        if len(parts) not in (1, 2) or not all(p.strip().isdigit() for p in parts):
            raise EnasError(
                f"malformed --image_size {value!r}: expected an integer like 224 or HxW like 320x160")
        sizes = [int(p) for p in parts] * (2 if len(parts) == 1 else 1)
    if any(int(s) < 8 for s in sizes):
        raise EnasError(f"--image_size {value!r} is too small: each side must be at least 8 pixels")
    return int(sizes[0]), int(sizes[1])


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Where the data is and how it is fed."""
    dataset: str = "cifar10"          # cifar10 | tfrecord
    data_path: str = ""
    valid_size: int = 5000            # cifar10 only: last N training images become validation
    image_size: Optional[Tuple[int, int]] = None   # (H, W); None = native size of the data
    batch_size: int = 160             # GLOBAL batch size (split over replicas)
    eval_batch_size: int = 100
    cutout_size: int = 0              # 0 disables cutout
    shuffle_buffer: int = 10000
    seed: int = 0


@dataclasses.dataclass(frozen=True)
class MicroChildConfig:
    """Shape of a micro-space network (weight-shared child or fixed final net)."""
    num_layers: int = 6               # N: the net has N + 2 cells, 2 of them reduction cells
    num_cells: int = 5                # nodes per cell that are searched (B - 2)
    out_filters: int = 20             # F of the first stage; doubles at each reduction cell
    num_classes: int = 10
    keep_prob: float = 0.9            # dropout keep probability before the classifier
    drop_path_keep_prob: float = 1.0  # fixed net only (ENAS_SPEC §4.4)
    use_aux_heads: bool = False       # fixed net only; aux loss weight below
    aux_weight: float = 0.4


@dataclasses.dataclass(frozen=True)
class ControllerConfig:
    """LSTM policy and REINFORCE settings (ENAS_SPEC §2)."""
    lstm_size: int = 64
    lstm_num_layers: int = 1
    init_range: float = 0.1
    tanh_constant: Optional[float] = None
    op_tanh_reduce: float = 1.0
    temperature: Optional[float] = None
    entropy_weight: float = 0.0
    bl_dec: float = 0.99
    lr: float = 1e-3
    adam_beta1: float = 0.0
    adam_epsilon: float = 1e-3
    num_aggregate: int = 1
    train_steps: int = 50
    train_every: int = 1
    skip_target: float = 0.4          # macro only
    skip_weight: float = 0.0          # macro only
    training: bool = True


@dataclasses.dataclass(frozen=True)
class ChildOptimConfig:
    """Child optimiser and learning-rate schedule (ENAS_SPEC §4.1, §4.2)."""
    lr_cosine: bool = True
    lr: float = 0.1                   # staircase schedule only
    lr_dec_every: int = 100           # epochs, staircase only
    lr_dec_rate: float = 0.1
    lr_max: float = 0.05
    lr_min: float = 0.0005
    lr_T_0: int = 10
    lr_T_mul: int = 2
    l2_reg: float = 1e-4
    grad_bound: float = 5.0           # global-norm clip; 0 disables (the original's was a no-op, P2)
    momentum: float = 0.9
    nesterov: bool = True


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Outer loop, outputs and distribution."""
    output_dir: str = "runs/default"
    num_epochs: int = 150
    log_every: int = 50
    eval_every_epochs: int = 1
    strategy: str = "default"         # default | mirrored | multi_worker
    num_cpu_devices: int = 0          # >0: split the CPU into N logical devices (testing)
    seed: int = 0
    reset_output_dir: bool = False
    derive_num_samples: int = 100
    keep_checkpoints: int = 2
    max_steps_per_epoch: int = 0      # >0: cap child steps per epoch (smoke runs)
    max_eval_batches: int = 0         # >0: cap eval batches (smoke runs)
    mixed_precision: bool = False
    jit_compile: bool = False
