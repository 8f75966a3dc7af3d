"""Every `enas-cnn` flag, defined once, and their conversion into an `ExperimentConfig`.

Names follow the original `main.py` so its scripts translate line by line. A run starts from a
preset (``--config``, default ``cifar10_<search_for>_search``: the authors' search-script values)
and every flag given on the command line overrides the matching field; flags not given keep the
preset's value (their listed defaults are the ``cifar10_micro_search`` values). Flags that the
original accepted but that have no meaning here are kept (so old scripts run) and say so.
"""

from __future__ import annotations


from absl import flags

from enas_tf2.cli.overrides import apply_overrides, check_positive, present_flags
from enas_tf2.errors import EnasError

F = flags

# ---- what to run and where -------------------------------------------------------------------
F.DEFINE_string("config", None, "Preset to start from (flags override its fields), e.g. "
                "cifar10_micro_search, cifar10_micro_final, or NAME.smoke for a CPU-sized run. "
                "Default: cifar10_<search_for>_search.")
F.DEFINE_enum("search_for", "micro", ["micro", "macro", "nb201"],
              "Search space: 'micro' (normal + reduction cells), 'macro' (whole network) or "
              "'nb201' (the NAS-Bench-201 cell: 6 edges x 5 ops, a small CPU default whose "
              "found cells have a known true accuracy, see --nb201_table).")
F.DEFINE_alias("search_space", "search_for")
F.DEFINE_string("output_dir", "runs/cifar10_micro_search", "Run folder: checkpoints, logs, "
                "arch.json.")
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
F.DEFINE_integer("steps_per_loop", 10, "Training steps run inside one compiled call (fewer "
                 "host round trips; a log line never falls inside a call).")
F.DEFINE_integer("eval_every_epochs", 1, "Evaluate every N epochs.")
F.DEFINE_integer("derive_num_samples", 100, "Architectures sampled and scored to derive arch.json.")
F.DEFINE_integer("derive_eval_batches", 5, "Validation batches every derive candidate, as many "
                 "uniformly random architectures and the 10 per-epoch samples are scored on (the "
                 "same batches for all; arch.json reports the spread).")
F.DEFINE_integer("max_steps_per_epoch", 0, "Cap on child steps per epoch (0 = a full pass); "
                 "for smoke tests.")
F.DEFINE_integer("max_eval_batches", 0, "Cap on evaluation batches (0 = whole split).")
F.DEFINE_integer("keep_checkpoints", 2, "Checkpoints kept in OUTPUT_DIR/ckpt.")
F.DEFINE_integer("checkpoint_every_steps", 0, "Also save a checkpoint every N training steps inside an epoch (0 = only by time and at epoch ends).", lower_bound=0)
F.DEFINE_float("checkpoint_every_secs", 600.0, "Also save a checkpoint when this many seconds passed since the last one, between compiled chunks of steps (0 = off); a killed run loses at most about this much. Epoch ends always save.", lower_bound=0.0)
F.DEFINE_bool("deterministic", False, "Deterministic TensorFlow ops (tf.config.experimental.enable_op_determinism, oneDNN kernels off, one inter-op thread): on CPU a run killed and resumed ends bit-identical to one never interrupted; slower.")

# ---- distribution ----------------------------------------------------------------------------------
F.DEFINE_string("strategy", "default", "default | mirrored | multi_worker (reads TF_CONFIG).")
F.DEFINE_integer("num_cpu_devices", 0, "Split the CPU into N logical devices (test multi-replica "
                 "runs on a CPU-only machine).")
F.DEFINE_bool("mixed_precision", False, "Final training: mixed_float16 compute (GPU).")
F.DEFINE_bool("jit_compile", False, "Final training: XLA-compile the train step.")

# ---- child network ---------------------------------------------------------------------------------
F.DEFINE_integer("child_num_layers", 6, "Micro: N, the network has N+2 cells, two of them "
                 "reductions. Macro: number of searched layers.")
F.DEFINE_integer("child_num_cells", 5, "Micro: searched nodes per cell.")
F.DEFINE_integer("child_out_filters", 20, "Filters of the first stage (doubled per reduction).")
F.DEFINE_integer("child_num_branches", 5, "Candidate ops per slot; fixed by the space (micro 5, "
                 "macro 6); accepted for old scripts, checked in searches.")
F.DEFINE_enum("child_stem", "auto", ["cifar", "imagenet", "auto"],
              "Stem before the first cell (micro) or layer (macro): 'auto' (cifar up to 64 px, "
              "imagenet above: the same network as cifar at CIFAR's 32 px), 'cifar' (3x3 conv at "
              "full resolution, the original), 'imagenet' (stride-2 convs to ~1/8 of the input: "
              "large photos fit in memory).")
F.DEFINE_float("child_keep_prob", 0.9, "Dropout keep probability before the classifier.")
F.DEFINE_float("child_drop_path_keep_prob", 0.6, "Micro final training: drop-path keep "
               "probability reached at the last cell and step (1.0 = off). Not used in search.")
F.DEFINE_bool("child_use_aux_heads", True, "Micro: auxiliary head on the cell after the second "
              "reduction (loss weight 0.4), trained in search and final training.")
F.DEFINE_float("child_l2_reg", 1e-4, "L2 weight on the sum of squares of all child weights.")
F.DEFINE_float("child_grad_bound", 5.0, "Bound of --child_grad_clip (0 = no clipping).")
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
F.DEFINE_float("controller_op_tanh_reduce", 2.5, "Micro only: op logits use tanh_constant / this.")
F.DEFINE_float("controller_temperature", 0.0, "Divide logits by this before tanh (0 = off).")
F.DEFINE_float("controller_entropy_weight", 1e-4, "Entropy bonus added to the reward.")
F.DEFINE_float("controller_bl_dec", 0.99, "Moving-average decay of the reward baseline.")
F.DEFINE_float("controller_lr", 0.0035, "Controller Adam learning rate (beta_1=0, eps=1e-3).")
F.DEFINE_integer("controller_num_aggregate", 10, "Samples averaged into one controller update.")
F.DEFINE_integer("controller_train_steps", 30, "Controller updates per epoch.")
F.DEFINE_integer("controller_train_every", 1, "Train the controller every N epochs.")
F.DEFINE_bool("controller_adv_norm", False, "Divide the REINFORCE advantage by its running "
              "standard deviation; the first sample sets the baseline (enas_plus recipe; "
              "off = the paper).")
F.DEFINE_integer("controller_warmup_epochs", 0, "Train the shared weights on uniformly random "
                 "architectures for the first N epochs before the controller samples or "
                 "trains (enas_plus recipe; 0 = the paper).")
F.DEFINE_float("controller_skip_target", 0.4, "Macro only: target skip-connection rate.")
F.DEFINE_float("controller_skip_weight", 0.8, "Macro only: weight of the skip-rate KL penalty.")
F.DEFINE_enum("child_fixed_ops", "as_named", ["as_named", "original"],
              "Macro final nets: 'as_named' builds separable convs as separable and both pools; "
              "'original' reproduces the authors' final nets (separable built as regular conv, "
              "pools refused).")
F.DEFINE_bool("controller_sync_replicas", True, "Accepted for old scripts: aggregation is always "
              "done by --controller_num_aggregate.")
F.DEFINE_bool("controller_search_whole_channels", True, "Accepted for old scripts (always on).")

# ---- issue 12: honest search controls and clipping modes -----------------------------------------
F.DEFINE_enum("search_strategy", "controller", ["controller", "random", "oracle",
                                               "oracle_random"],
              "'controller': REINFORCE picks each child step's architecture (ENAS). 'random': the "
              "shared weights train on uniformly random architectures and no controller is "
              "trained (the paper's search-disabled control); derive then keeps the best of "
              "--derive_num_samples random architectures. nb201 only, with --nb201_table: "
              "'oracle' trains the controller with the table's true accuracy as reward (no "
              "child training, seconds), 'oracle_random' draws random cells the same way; "
              "both draw --oracle_samples cells.")
F.DEFINE_string("nb201_table", None, "nb201 only: the NAS-Bench-201 CSV (index,arch,"
                "cifar10_test_acc). The search never reads it; afterwards arch.json and the "
                "report give the found cell's true accuracy and percentile.")
F.DEFINE_integer("oracle_samples", 500, "Cells drawn by --search_strategy=oracle/oracle_random.",
                 lower_bound=1)
F.DEFINE_enum("child_grad_clip", "none", ["none", "per_tensor", "global"],
              "How child gradients are clipped at --child_grad_bound: 'none' (what the authors' "
              "CIFAR code did: its per-tensor clip was a no-op), 'per_tensor' (what it intended), "
              "'global' (one global norm, as enas_lm). The log's clip_rate is the share of steps "
              "the clip changed.")

# ---- issue 13: resume safety and the pre-flight ----------------------------------------------------
F.DEFINE_bool("dry_run", False, "Build everything, run a few steps of each kind, print the peak "
              "memory, seconds per step and the projected time per epoch and for the whole run, "
              "then stop (nothing is written to --output_dir).")
F.DEFINE_bool("force", False, "Run even when the pre-flight projects more memory than this "
              "machine has.")
F.DEFINE_bool("preflight", True, "Before the first epoch, measure memory and step times and "
              "print the estimate; a run that would not fit in memory is refused (--force). "
              "--nopreflight skips it.")
F.DEFINE_float("memory_limit_gb", 0.0, "Refuse runs the pre-flight projects above this many GiB "
               "of memory (0 = what the machine has: MemAvailable, or the container's limit).",
               lower_bound=0.0)
F.DEFINE_bool("skip_corrupt_records", False, "TFRecord data: skip records that cannot be read "
              "(counted and reported per shard) instead of stopping at the first corrupt one.")

FLAGS = F.FLAGS

# `--help` groups, by purpose (the order of the sections above).
HELP_GROUPS = (
    ("What to run and where", ("config", "search_for", "search_space", "output_dir",
                               "reset_output_dir",
                               "child_fixed_arc", "arch_json", "derive_only", "seed",
                               "search_strategy", "nb201_table", "oracle_samples")),
    ("Data", ("dataset", "data_path", "valid_size", "image_size", "batch_size",
              "eval_batch_size", "child_cutout_size", "data_format")),
    ("Outer loop and outputs", ("num_epochs", "log_every", "steps_per_loop", "eval_every_epochs",
                                "derive_num_samples", "derive_eval_batches",
                                "max_steps_per_epoch", "max_eval_batches", "keep_checkpoints",
                                "checkpoint_every_steps", "checkpoint_every_secs",
                                "deterministic")),
    ("Distribution and precision", ("strategy", "num_cpu_devices", "mixed_precision",
                                    "jit_compile")),
    ("Child network and its training", (
        "child_num_layers", "child_num_cells", "child_out_filters", "child_num_branches",
        "child_stem", "child_fixed_ops",
        "child_keep_prob", "child_drop_path_keep_prob", "child_use_aux_heads", "child_l2_reg",
        "child_grad_bound", "child_grad_clip", "child_lr_cosine", "child_lr",
        "child_lr_dec_every", "child_lr_dec_rate", "child_lr_max", "child_lr_min", "child_lr_T_0",
        "child_lr_T_mul")),
    ("Controller", (
        "controller_training", "controller_lstm_size", "controller_lstm_num_layers",
        "controller_tanh_constant", "controller_op_tanh_reduce", "controller_temperature",
        "controller_entropy_weight", "controller_bl_dec", "controller_lr",
        "controller_num_aggregate", "controller_train_steps", "controller_train_every",
        "controller_adv_norm", "controller_warmup_epochs", "controller_skip_target",
        "controller_skip_weight", "controller_sync_replicas",
        "controller_search_whole_channels")),
    ("Safety and estimates", ("dry_run", "preflight", "force", "memory_limit_gb",
                              "skip_corrupt_records")),
)


def _opt(value):
    """The original used None/0 for 'off'."""
    return value if value else None


# flag name -> (config section, field, converter). `space` fields exist only in some spaces.
FIELDS = {
    "dataset": ("data", "dataset", None), "data_path": ("data", "data_path", None),
    "valid_size": ("data", "valid_size", None), "image_size": ("data", "image_size", None),
    "batch_size": ("data", "batch_size", None), "eval_batch_size": ("data", "eval_batch_size", None),
    "child_cutout_size": ("data", "cutout_size", None),
    "output_dir": ("run", "output_dir", None), "num_epochs": ("run", "num_epochs", None),
    "log_every": ("run", "log_every", None), "steps_per_loop": ("run", "steps_per_loop", None),
    "eval_every_epochs": ("run", "eval_every_epochs", None),
    "strategy": ("run", "strategy", None), "num_cpu_devices": ("run", "num_cpu_devices", None),
    "reset_output_dir": ("run", "reset_output_dir", None),
    "derive_num_samples": ("run", "derive_num_samples", None),
    "derive_eval_batches": ("run", "derive_eval_batches", None),
    "keep_checkpoints": ("run", "keep_checkpoints", None),
    "checkpoint_every_steps": ("run", "checkpoint_every_steps", None),
    "checkpoint_every_secs": ("run", "checkpoint_every_seconds", None),
    "deterministic": ("run", "deterministic", None),
    "max_steps_per_epoch": ("run", "max_steps_per_epoch", None),
    "max_eval_batches": ("run", "max_eval_batches", None),
    "mixed_precision": ("run", "mixed_precision", None), "jit_compile": ("run", "jit_compile", None),
    "child_num_layers": ("space_config", "num_layers", None),
    "child_num_cells": ("space_config", "num_cells", None),
    "child_out_filters": ("space_config", "out_filters", None),
    "child_keep_prob": ("space_config", "keep_prob", None),
    "child_stem": ("space_config", "stem", None),
    "child_drop_path_keep_prob": ("space_config", "drop_path_keep_prob", None),
    "child_use_aux_heads": ("space_config", "use_aux_heads", None),
    "controller_op_tanh_reduce": ("space_config", "op_tanh_reduce", None),
    "controller_skip_target": ("space_config", "skip_target", None),
    "controller_skip_weight": ("space_config", "skip_weight", None),
    "child_fixed_ops": ("space_config", "fixed_ops", None),
    "child_l2_reg": ("optim", "l2_reg", None), "child_grad_bound": ("optim", "grad_bound", None),
    "child_lr_cosine": ("optim", "lr_cosine", None), "child_lr": ("optim", "lr", None),
    "child_lr_dec_every": ("optim", "lr_dec_every", None),
    "child_lr_dec_rate": ("optim", "lr_dec_rate", None), "child_lr_max": ("optim", "lr_max", None),
    "child_lr_min": ("optim", "lr_min", None), "child_lr_T_0": ("optim", "lr_T_0", None),
    "child_lr_T_mul": ("optim", "lr_T_mul", None),
    "controller_training": ("controller", "training", None),
    "controller_lstm_size": ("controller", "lstm_size", None),
    "controller_lstm_num_layers": ("controller", "lstm_num_layers", None),
    "controller_tanh_constant": ("controller", "tanh_constant", _opt),
    "controller_temperature": ("controller", "temperature", _opt),
    "controller_entropy_weight": ("controller", "entropy_weight", None),
    "controller_bl_dec": ("controller", "bl_dec", None), "controller_lr": ("controller", "lr", None),
    "controller_num_aggregate": ("controller", "num_aggregate", None),
    "controller_train_steps": ("controller", "train_steps", None),
    "controller_train_every": ("controller", "train_every", None),
    "controller_adv_norm": ("controller", "adv_norm", None),
    "controller_warmup_epochs": ("controller", "warmup_epochs", None),
    "search_strategy": ("run", "search_strategy", None),
    "child_grad_clip": ("optim", "grad_clip", None),
    "dry_run": ("run", "dry_run", None), "force": ("run", "force", None),
    "preflight": ("run", "preflight", None), "memory_limit_gb": ("run", "memory_limit_gb", None),
    "skip_corrupt_records": ("data", "skip_corrupt_records", None),
}
POSITIVE = ("num_epochs", "log_every", "steps_per_loop", "eval_every_epochs", "child_num_layers",
            "child_num_cells", "child_out_filters", "eval_batch_size", "derive_eval_batches",
            "controller_num_aggregate", "controller_train_steps", "controller_train_every")


def to_experiment(fl=FLAGS) -> dict:
    """Turns parsed flags into ``{"config": ExperimentConfig, "fixed_arc", "arch_json",
    "derive_only"}`` (the only place FLAGS are read)."""
    from enas_tf2.configs.presets import get_preset
    if fl.child_fixed_arc and fl.arch_json:
        raise EnasError("give either --child_fixed_arc or --arch_json, not both")
    if fl.data_format.upper() not in ("NHWC", "NCHW"):
        raise EnasError(f"unknown --data_format={fl.data_format!r} (NHWC or NCHW)")
    present = present_flags(fl, FIELDS)
    check_positive(fl, POSITIVE, present)
    for name in ("child_keep_prob", "child_drop_path_keep_prob"):
        if name in present and not 0 < getattr(fl, name) <= 1:
            raise EnasError(f"--{name} must be in (0, 1]")
    cfg = get_preset(fl.config or f"cifar10_{fl.search_for}_search")
    if fl["search_for"].present and cfg.space != fl.search_for:
        raise EnasError(f"--search_for={fl.search_for} but --config={fl.config} is a "
                        f"{cfg.space} preset")
    cfg = apply_overrides(cfg, fl, present, FIELDS)
    fixed = bool(fl.child_fixed_arc or fl.arch_json)
    # The architecture fixes the ops of a final run (the original macro final script passes 4).
    if fl["child_num_branches"].present and not fixed:
        from enas_tf2.search_space.registry import get_space
        expected = get_space(cfg.space, cfg.space_config).num_branches
        if fl.child_num_branches != expected:
            raise EnasError(f"--child_num_branches={fl.child_num_branches}: the {cfg.space} "
                            f"space has exactly {expected} ops")
    return {"config": cfg, "fixed_arc": fl.child_fixed_arc, "arch_json": fl.arch_json,
            "derive_only": fl.derive_only, "nb201_table": fl.nb201_table,
            "oracle_samples": fl.oracle_samples}
