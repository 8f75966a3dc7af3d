"""Typed configuration shared by every space and task. The CLI and the Python API turn their
arguments into these once; library code takes them as arguments and never reads flags.

Defaults are the original code's defaults unless noted; the presets
(`search_space/<space>/presets.py`) hold the values of the authors' scripts
(docs/enas_reference.md lists them). Space-specific knobs live in each space's own config class
(`search_space/<space>/config.py`).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional, Tuple

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
    skip_corrupt_records: bool = False   # TFRecord: skip unreadable records (counted) instead of stopping

    def __post_init__(self):
        # Parsed once, here at the boundary: every consumer sees None or an (H, W) tuple.
        object.__setattr__(self, "image_size", parse_image_size(self.image_size))


@dataclasses.dataclass(frozen=True)
class ControllerConfig:
    """LSTM policy and REINFORCE settings (docs/enas_reference.md §2)."""
    lstm_size: int = 64
    lstm_num_layers: int = 1
    init_range: float = 0.1
    tanh_constant: Optional[float] = None
    temperature: Optional[float] = None
    entropy_weight: float = 0.0
    bl_dec: float = 0.99
    lr: float = 1e-3
    adam_beta1: float = 0.0
    adam_epsilon: float = 1e-3
    num_aggregate: int = 1
    train_steps: int = 50
    train_every: int = 1
    training: bool = True
    # The `enas_plus` recipe (configs/enas_plus.py; off = the paper): advantages divided by their
    # running std (controller/reinforce.advantage_step), and `warmup_epochs` child epochs on
    # uniformly random architectures before the controller samples or trains.
    adv_norm: bool = False
    warmup_epochs: int = 0


@dataclasses.dataclass(frozen=True)
class OptimizerConfig:
    """Child optimiser and learning-rate schedule (docs/enas_reference.md §4.1, §4.2)."""
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
    aux_weight: float = 0.4           # weight of an auxiliary head's loss, when the net has one
    momentum: float = 0.9
    nesterov: bool = True
    # none | per_tensor | global (training/gradients.py). The CIFAR presets use none: the authors'
    # per-tensor clip was a no-op (P2). enas_lm's global-norm clip works, so PTB keeps global.
    grad_clip: str = "global"


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
    steps_per_loop: int = 10          # training steps run inside one tf.function call
    derive_eval_batches: int = 5      # validation batches every derive candidate is scored on
    mixed_precision: bool = False
    jit_compile: bool = False
    # controller: REINFORCE as the paper; random: shared weights trained on uniformly random
    # architectures, no controller (the paper's "search disabled" control)
    search_strategy: str = "controller"
    # Pre-flight (training/preflight.py): measure memory and step times before the first epoch;
    # `force` runs even when the projected memory exceeds the machine's; `dry_run` only estimates.
    preflight: bool = True
    force: bool = False
    dry_run: bool = False
    memory_limit_gb: float = 0.0      # >0: the pre-flight allows at most this much (shared hosts)
    # Mid-epoch checkpoints (runs/resume_point.py): every N steps and/or T seconds (0 = off);
    # epoch ends always save. `deterministic` turns on TF's op determinism (exact resume on CPU).
    checkpoint_every_steps: int = 0
    checkpoint_every_seconds: float = 600.0
    deterministic: bool = False


OBJECTIVES = ("accuracy", "params", "macs", "latency")
CONSTRAINTS = ("soft", "hard")


@dataclasses.dataclass(frozen=True)
class ObjectiveConfig:
    """What the controller maximises (`enas_tf2.cost.objective`, docs/deploy.md).

    ``accuracy`` (the paper's, the default): the validation accuracy. ``params``, ``macs``,
    ``latency``: the accuracy under a `target` cost of the derived network (parameters in
    millions, multiply-adds in millions, or LiteRT latency in ms predicted by `latency_table`):
    ``soft`` is MnasNet's ``acc * (cost / target) ** weight``, applied whether the cost is above
    or below the target (MnasNet's alpha = beta = -0.07); ``hard`` is MnasNet's hard constraint
    (alpha = 0, beta = -1: the accuracy within the target, ``acc * target / cost`` above it), and
    derive keeps an architecture within the target.
    """
    kind: str = "accuracy"
    target: float = 0.0
    weight: float = -0.07
    constraint: str = "soft"
    latency_table: str = ""

    def __post_init__(self):
        if self.kind not in OBJECTIVES:
            raise EnasError(f"unknown --objective={self.kind!r}: choose one of "
                            f"{', '.join(OBJECTIVES)}")
        if self.constraint not in CONSTRAINTS:
            raise EnasError(f"unknown --cost_constraint={self.constraint!r}: choose soft or hard")
        if self.kind == "accuracy":
            return
        if not self.target > 0:
            unit = {"params": "millions of parameters", "macs": "millions of multiply-adds",
                    "latency": "milliseconds"}[self.kind]
            raise EnasError(f"--cost_target={self.target} must be > 0 with --objective="
                            f"{self.kind} ({unit})")
        if self.kind == "latency" and not self.latency_table:
            raise EnasError("--objective=latency needs --latency_table=FILE (make one with "
                            "enas-arch latency-table)")


@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
    """One whole experiment: which space and task, their settings, the recipe and the run.

    `space_config` is the registered config class of `space` (e.g. `MicroConfig`); `data` is the
    task's data config (`DataConfig` for image classification). The same config serves a search
    and the final training of a given architecture (`api.search` / `api.train_final`). Presets
    (`search_space/<space>/presets.py`) build these; the CLI and the Python API override fields.
    """
    space: str
    space_config: Any
    task: str
    data: Any
    controller: ControllerConfig = ControllerConfig()
    optim: OptimizerConfig = OptimizerConfig()
    run: RunConfig = RunConfig()
    objective: ObjectiveConfig = ObjectiveConfig()

    def replace(self, **changes) -> "ExperimentConfig":
        """A copy with top-level fields replaced (nested configs are replaced whole)."""
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict:
        """Every field as plain JSON values (written to ``OUTPUT_DIR/experiment.json``)."""
        return {"space": self.space, "task": self.task,
                "space_config": dataclasses.asdict(self.space_config),
                "data": dataclasses.asdict(self.data),
                "controller": dataclasses.asdict(self.controller),
                "optim": dataclasses.asdict(self.optim), "run": dataclasses.asdict(self.run),
                "objective": dataclasses.asdict(self.objective)}
