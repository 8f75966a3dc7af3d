"""Every `enas-cnn` flag, defined once, and their conversion into config dataclasses.

Names follow the original `main.py` so its scripts translate line by line. Defaults are the
authors' `cifar10_micro_search.sh` values (the common starting point); `scripts/*.sh` set the rest.
Flags that the original accepted but that have no meaning here are kept (so old scripts run) and
documented as such.
"""

from __future__ import annotations

from absl import flags

from enas_tf2.config import (ChildOptimConfig, ControllerConfig, DataConfig, MicroChildConfig,
                             RunConfig, parse_image_size)
from enas_tf2.errors import EnasError

F = flags

# ---- what to run and where -------------------------------------------------------------------
F.DEFINE_enum("search_for", "micro", ["micro", "macro"],
              "Search space: 'micro' (normal + reduction cells). 'macro' is on the roadmap.")
F.DEFINE_string("output_dir", "runs/micro_search", "Run folder: checkpoints, logs, arch.json.")
F.DEFINE_bool("reset_output_dir", False, "Delete --output_dir first. Without it a rerun RESUMES.")
F.DEFINE_string("child_fixed_arc", None,
                "Train this architecture from scratch (original token string) instead of searching.")
F.DEFINE_string("arch_json", None, "Train the architecture of a search's arch.json from scratch.")
F.DEFINE_bool("derive_only", False, "Do not train; derive arch.json from the newest checkpoint.")
F.DEFINE_integer("seed", 0, "Seed of every random stream (sampling, dropout, data order).")

# ---- data --------------------------------------------------------------------------------------
F.DEFINE_enum("dataset", "cifar10", ["cifar10", "tfrecord"],
              "'cifar10': CIFAR-10 batches (python or binary) at --data_path; 'tfrecord': an "
              "enas-convert output folder.")
F.DEFINE_string("data_path", "data/cifar10", "Dataset folder (see --dataset).")
F.DEFINE_integer("valid_size", 5000, "CIFAR-10: the last N training images form the validation "
                 "split (0 = train on all, as the original final runs).")
F.DEFINE_string("image_size", None, "Resize images to this size: 224 or HxW like 320x160 "
                "(default: the data's native size; required for tfrecord data).")
F.DEFINE_integer("batch_size", 160, "Global training batch size (split over replicas).")
F.DEFINE_integer("eval_batch_size", 100, "Global evaluation batch size.")
F.DEFINE_integer("child_cutout_size", 0, "Cutout square side in pixels (0 = off).")
F.DEFINE_string("data_format", "NHWC", "Accepted for old scripts; enas_tf2 is always channels-last.")

# ---- outer loop ----------------------------------------------------------------------------------
F.DEFINE_integer("num_epochs", 150, "Epochs to train (search or final).")
F.DEFINE_integer("log_every", 50, "Log a progress line every N steps.")
F.DEFINE_integer("eval_every_epochs", 1, "Evaluate every N epochs.")
F.DEFINE_integer("derive_num_samples", 100, "Architectures sampled and scored to derive arch.json.")
F.DEFINE_integer("max_steps_per_epoch", 0, "Cap on child steps per epoch (0 = a full pass); "
                 "for smoke tests.")
F.DEFINE_integer("max_eval_batches", 0, "Cap on evaluation batches (0 = whole split).")
F.DEFINE_integer("keep_checkpoints", 2, "Checkpoints kept in OUTPUT_DIR/ckpt.")

# ---- distribution ----------------------------------------------------------------------------------
F.DEFINE_string("strategy", "default", "default | mirrored | multi_worker (reads TF_CONFIG).")
F.DEFINE_integer("num_cpu_devices", 0, "Split the CPU into N logical devices (test multi-replica "
                 "runs on a CPU-only machine).")
F.DEFINE_bool("mixed_precision", False, "Final training: mixed_float16 compute (GPU).")
F.DEFINE_bool("jit_compile", False, "Final training: XLA-compile the train step.")

# ---- child network ---------------------------------------------------------------------------------
F.DEFINE_integer("child_num_layers", 6, "N: the network has N+2 cells, two of them reductions.")
F.DEFINE_integer("child_num_cells", 5, "Searched nodes per cell.")
F.DEFINE_integer("child_out_filters", 20, "Filters of the first stage (doubled per reduction).")
F.DEFINE_integer("child_num_branches", 5, "Candidate ops per slot; the micro space has exactly 5.")
F.DEFINE_float("child_keep_prob", 0.9, "Dropout keep probability before the classifier.")
F.DEFINE_float("child_drop_path_keep_prob", 0.6, "Final training: drop-path keep probability "
               "reached at the last cell and step (1.0 = off). Not used in search.")
F.DEFINE_bool("child_use_aux_heads", False, "Final training: auxiliary head (loss weight 0.4).")
F.DEFINE_float("child_l2_reg", 1e-4, "L2 weight on the sum of squares of all child weights.")
F.DEFINE_float("child_grad_bound", 5.0, "Clip child gradients to this global norm (0 = off).")
F.DEFINE_bool("child_lr_cosine", True, "Cosine LR with warm restarts (else staircase decay).")
F.DEFINE_float("child_lr", 0.1, "Staircase schedule: initial LR.")
F.DEFINE_integer("child_lr_dec_every", 100, "Staircase schedule: decay every N epochs.")
F.DEFINE_float("child_lr_dec_rate", 0.1, "Staircase schedule: decay factor.")
F.DEFINE_float("child_lr_max", 0.05, "Cosine schedule: LR at each restart.")
F.DEFINE_float("child_lr_min", 0.0005, "Cosine schedule: LR at the end of each period.")
F.DEFINE_integer("child_lr_T_0", 10, "Cosine schedule: first period in epochs.")
F.DEFINE_integer("child_lr_T_mul", 2, "Cosine schedule: period multiplier after each restart.")

# ---- controller ----------------------------------------------------------------------------------
F.DEFINE_bool("controller_training", True, "Train the controller (off = shared weights only).")
F.DEFINE_integer("controller_lstm_size", 64, "Controller LSTM hidden size.")
F.DEFINE_integer("controller_lstm_num_layers", 1, "Controller LSTM layers.")
F.DEFINE_float("controller_tanh_constant", 1.10, "Logits -> c*tanh(logits) (0 = off).")
F.DEFINE_float("controller_op_tanh_reduce", 2.5, "Micro op logits use tanh_constant / this.")
F.DEFINE_float("controller_temperature", 0.0, "Divide logits by this before tanh (0 = off).")
F.DEFINE_float("controller_entropy_weight", 1e-4, "Entropy bonus added to the reward.")
F.DEFINE_float("controller_bl_dec", 0.99, "Moving-average decay of the reward baseline.")
F.DEFINE_float("controller_lr", 0.0035, "Controller Adam learning rate (beta_1=0, eps=1e-3).")
F.DEFINE_integer("controller_num_aggregate", 10, "Samples averaged into one controller update.")
F.DEFINE_integer("controller_train_steps", 30, "Controller updates per epoch.")
F.DEFINE_integer("controller_train_every", 1, "Train the controller every N epochs.")
F.DEFINE_float("controller_skip_target", 0.4, "Macro only: target skip-connection rate.")
F.DEFINE_float("controller_skip_weight", 0.0, "Macro only: weight of the skip-rate KL penalty.")
F.DEFINE_bool("controller_sync_replicas", True, "Accepted for old scripts: aggregation is always "
              "done by --controller_num_aggregate.")
F.DEFINE_bool("controller_search_whole_channels", True, "Accepted for old scripts (always on).")

FLAGS = F.FLAGS


def _opt(value):
    """The original used None/0 for 'off'."""
    return value if value else None


def to_configs(fl=FLAGS) -> dict:
    """Turns parsed flags into the config dataclasses (the only place FLAGS are read)."""
    if fl.child_fixed_arc and fl.arch_json:
        raise EnasError("give either --child_fixed_arc or --arch_json, not both")
    if fl.search_for == "micro" and fl.child_num_branches != 5:
        raise EnasError(f"--child_num_branches={fl.child_num_branches}: the micro space has "
                        f"exactly 5 ops")
    if fl.data_format.upper() not in ("NHWC", "NCHW"):
        raise EnasError(f"unknown --data_format={fl.data_format!r} (NHWC or NCHW)")
    for name in ("num_epochs", "log_every", "eval_every_epochs", "child_num_layers",
                 "child_num_cells", "child_out_filters", "eval_batch_size",
                 "controller_num_aggregate", "controller_train_steps", "controller_train_every"):
        if getattr(fl, name) <= 0:
            raise EnasError(f"--{name}={getattr(fl, name)} must be positive")
    if not 0 < fl.child_keep_prob <= 1 or not 0 < fl.child_drop_path_keep_prob <= 1:
        raise EnasError("--child_keep_prob and --child_drop_path_keep_prob must be in (0, 1]")
    data = DataConfig(
        dataset=fl.dataset, data_path=fl.data_path, valid_size=fl.valid_size,
        image_size=parse_image_size(fl.image_size), batch_size=fl.batch_size,
        eval_batch_size=fl.eval_batch_size, cutout_size=fl.child_cutout_size, seed=fl.seed)
    child = MicroChildConfig(
        num_layers=fl.child_num_layers, num_cells=fl.child_num_cells,
        out_filters=fl.child_out_filters, keep_prob=fl.child_keep_prob,
        drop_path_keep_prob=fl.child_drop_path_keep_prob, use_aux_heads=fl.child_use_aux_heads)
    controller = ControllerConfig(
        lstm_size=fl.controller_lstm_size, lstm_num_layers=fl.controller_lstm_num_layers,
        tanh_constant=_opt(fl.controller_tanh_constant),
        op_tanh_reduce=fl.controller_op_tanh_reduce,
        temperature=_opt(fl.controller_temperature),
        entropy_weight=fl.controller_entropy_weight, bl_dec=fl.controller_bl_dec,
        lr=fl.controller_lr, num_aggregate=fl.controller_num_aggregate,
        train_steps=fl.controller_train_steps, train_every=fl.controller_train_every,
        skip_target=fl.controller_skip_target, skip_weight=fl.controller_skip_weight,
        training=fl.controller_training)
    optim = ChildOptimConfig(
        lr_cosine=fl.child_lr_cosine, lr=fl.child_lr, lr_dec_every=fl.child_lr_dec_every,
        lr_dec_rate=fl.child_lr_dec_rate, lr_max=fl.child_lr_max, lr_min=fl.child_lr_min,
        lr_T_0=fl.child_lr_T_0, lr_T_mul=fl.child_lr_T_mul, l2_reg=fl.child_l2_reg,
        grad_bound=fl.child_grad_bound)
    run = RunConfig(
        output_dir=fl.output_dir, num_epochs=fl.num_epochs, log_every=fl.log_every,
        eval_every_epochs=fl.eval_every_epochs, strategy=fl.strategy,
        num_cpu_devices=fl.num_cpu_devices, seed=fl.seed, reset_output_dir=fl.reset_output_dir,
        derive_num_samples=fl.derive_num_samples, keep_checkpoints=fl.keep_checkpoints,
        max_steps_per_epoch=fl.max_steps_per_epoch, max_eval_batches=fl.max_eval_batches,
        mixed_precision=fl.mixed_precision, jit_compile=fl.jit_compile)
    return {"data": data, "child": child, "controller": controller, "optim": optim, "run": run,
            "search_for": fl.search_for, "fixed_arc": fl.child_fixed_arc,
            "arch_json": fl.arch_json, "derive_only": fl.derive_only}
