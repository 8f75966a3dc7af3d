"""`enas-cnn`'s own flag groups (image data, the CNN child, the search strategy, precision) and
its defaults for the shared groups (the ``cifar10_micro_search`` preset's values).

Names follow the original `main.py` so its scripts translate line by line; flags the original
accepted that have no meaning here are kept (so old scripts run) and say so.
"""

from __future__ import annotations

from absl import flags as absl_flags

from enas_tf2.cli.flags.shared import Group

SHARED_DEFAULTS = {
    "config_help": "Preset to start from (flags override its fields), e.g. cifar10_micro_search, "
                   "cifar10_micro_final, or NAME.smoke for a CPU-sized run. Default: "
                   "cifar10_<search_for>_search.",
    "output_dir": "runs/cifar10_micro_search",
    "output_dir_help": "Run folder: checkpoints, logs, arch.json.",
    "fixed_arc_help": "Train this architecture from scratch (original token string) instead of "
                      "searching.",
    "arch_json_help": "Train the architecture of a search's arch.json from scratch.",
    "seed_help": "Seed of every random stream (sampling, dropout, data order).",
    "num_epochs": 150, "num_epochs_help": "Epochs to train (search or final).",
    "log_every": 50,
    "tanh_constant": 1.10, "temperature": 0.0, "entropy_weight": 1e-4, "bl_dec": 0.99,
    "controller_lr": 0.0035, "train_steps": 30,
    "preflight_help": "; a run that would not fit in memory is refused (--force)",
}


def search_choice(g: Group) -> None:
    """Which space, and how it is searched (joins "What to run and where")."""
    g.enum("search_for", "micro", ["micro", "macro", "nb201"],
           "Search space: 'micro' (normal + reduction cells), 'macro' (whole network) or "
           "'nb201' (the NAS-Bench-201 cell: 6 edges x 5 ops, a small CPU default whose found "
           "cells have a known true accuracy, see --nb201_table).")
    absl_flags.DEFINE_alias("search_space", "search_for", flag_values=g.fv)
    g.names.append("search_space")
    g.enum("search_strategy", "controller", ["controller", "random", "oracle", "oracle_random"],
           "'controller': REINFORCE picks each child step's architecture (ENAS). 'random': the "
           "shared weights train on uniformly random architectures and no controller is trained "
           "(the paper's search-disabled control); derive then keeps the best of "
           "--derive_num_samples random architectures. nb201 only, with --nb201_table: 'oracle' "
           "trains the controller with the table's true accuracy as reward (no child training, "
           "seconds), 'oracle_random' draws random cells the same way; both draw "
           "--oracle_samples cells.")
    g.string("nb201_table", None, "nb201 only: the NAS-Bench-201 CSV (index,arch,"
             "cifar10_test_acc). The search never reads it; afterwards arch.json and the report "
             "give the found cell's true accuracy and percentile.")
    g.integer("oracle_samples", 500, "Cells drawn by --search_strategy=oracle/oracle_random.",
              lower_bound=1)


def data(g: Group) -> None:
    """Image input."""
    g.enum("dataset", "cifar10", ["cifar10", "tfrecord"],
           "'cifar10': CIFAR-10 batches (python or binary) at --data_path; 'tfrecord': an "
           "enas-convert output folder.")
    g.string("data_path", "data/cifar10", "Dataset folder (see --dataset).")
    g.integer("valid_size", 5000, "CIFAR-10: the last N training images form the validation "
              "split (0 = train on all, as the original final runs).")
    g.string("image_size", None, "Resize images to this size: 224 or HxW like 320x160 "
             "(default: the data's native size; required for tfrecord data).")
    g.integer("batch_size", 160, "Global training batch size (split over replicas).")
    g.integer("eval_batch_size", 100, "Global evaluation batch size.")
    g.integer("child_cutout_size", 0, "Cutout square side in pixels (0 = off).")
    g.string("data_format", "NHWC", "Accepted for old scripts; enas_tf2 is always "
             "channels-last.")


def precision(g: Group) -> None:
    """Final-training compute options (join "Distribution and precision")."""
    g.bool("mixed_precision", False, "Final training: mixed_float16 compute (GPU).")
    g.bool("jit_compile", False, "Final training: XLA-compile the train step.")


def child(g: Group) -> None:
    """The CNN child network and its optimizer."""
    g.integer("child_num_layers", 6, "Micro: N, the network has N+2 cells, two of them "
              "reductions. Macro: number of searched layers.")
    g.integer("child_num_cells", 5, "Micro: searched nodes per cell.")
    g.integer("child_out_filters", 20, "Filters of the first stage (doubled per reduction).")
    g.integer("child_num_branches", 5, "Candidate ops per slot; fixed by the space (micro 5, "
              "macro 6); accepted for old scripts, checked in searches.")
    g.enum("child_stem", "auto", ["cifar", "imagenet", "auto"],
           "Stem before the first cell (micro) or layer (macro): 'auto' (cifar up to 64 px, "
           "imagenet above: the same network as cifar at CIFAR's 32 px), 'cifar' (3x3 conv at "
           "full resolution, the original), 'imagenet' (stride-2 convs to ~1/8 of the input: "
           "large photos fit in memory).")
    g.enum("child_fixed_ops", "as_named", ["as_named", "original"],
           "Macro final nets: 'as_named' builds separable convs as separable and both pools; "
           "'original' reproduces the authors' final nets (separable built as regular conv, "
           "pools refused).")
    g.float("child_keep_prob", 0.9, "Dropout keep probability before the classifier.")
    g.float("child_drop_path_keep_prob", 0.6, "Micro final training: drop-path keep "
            "probability reached at the last cell and step (1.0 = off). Not used in search.")
    g.bool("child_use_aux_heads", True, "Micro: auxiliary head on the cell after the second "
           "reduction (loss weight 0.4), trained in search and final training.")
    g.float("child_l2_reg", 1e-4, "L2 weight on the sum of squares of all child weights.")
    g.float("child_grad_bound", 5.0, "Bound of --child_grad_clip (0 = no clipping).")
    g.enum("child_grad_clip", "none", ["none", "per_tensor", "global"],
           "How child gradients are clipped at --child_grad_bound: 'none' (what the authors' "
           "CIFAR code did: its per-tensor clip was a no-op), 'per_tensor' (what it intended), "
           "'global' (one global norm, as enas_lm). The log's clip_rate is the share of steps "
           "the clip changed.")
    g.bool("child_lr_cosine", True, "Cosine LR with warm restarts (else staircase decay).")
    g.float("child_lr", 0.1, "Staircase schedule: initial LR.")
    g.integer("child_lr_dec_every", 100, "Staircase schedule: decay every N epochs.")
    g.float("child_lr_dec_rate", 0.1, "Staircase schedule: decay factor.")
    g.float("child_lr_max", 0.05, "Cosine schedule: LR at each restart.")
    g.float("child_lr_min", 0.0005, "Cosine schedule: LR at the end of each period.")
    g.integer("child_lr_T_0", 10, "Cosine schedule: first period in epochs.")
    g.integer("child_lr_T_mul", 2, "Cosine schedule: period multiplier after each restart.")


def controller_extras(g: Group) -> None:
    """The CNN controller's settings beyond the shared ones (join "Controller")."""
    g.integer("controller_lstm_num_layers", 1, "Controller LSTM layers.")
    g.float("controller_op_tanh_reduce", 2.5, "Micro only: op logits use tanh_constant / this.")
    g.float("controller_skip_target", 0.4, "Macro only: target skip-connection rate.")
    g.float("controller_skip_weight", 0.8, "Macro only: weight of the skip-rate KL penalty.")
    g.bool("controller_sync_replicas", True, "Accepted for old scripts: aggregation is always "
           "done by --controller_num_aggregate.")
    g.bool("controller_search_whole_channels", True, "Accepted for old scripts (always on).")


def data_safety(g: Group) -> None:
    """Reading damaged image records (joins "Safety and estimates")."""
    g.bool("skip_corrupt_records", False, "TFRecord data: skip records that cannot be read "
           "(counted and reported per shard) instead of stopping at the first corrupt one.")


def hardware_aware(g: Group) -> None:
    """The objective: accuracy (the paper's), or accuracy under a cost target (docs/deploy.md)."""
    g.enum("objective", "accuracy", ["accuracy", "params", "macs", "latency"],
           "What the controller maximises: 'accuracy' (the paper's), or the accuracy under a "
           "--cost_target on the derived network's parameters (millions), multiply-adds "
           "(millions) or LiteRT latency (ms, from --latency_table). docs/deploy.md.")
    g.float("cost_target", 0.0, "Target of a cost --objective, in its unit (M params, M MACs "
            "or ms); must be > 0 with one.")
    g.float("cost_weight", -0.07, "Exponent w of the soft objective acc * (cost/target)^w "
            "(MnasNet's -0.07).")
    g.enum("cost_constraint", "soft", ["soft", "hard"], "soft: acc * (cost/target)^w, always "
           "applied (MnasNet); hard: acc when cost <= target, else acc * target/cost (MnasNet's "
           "hard setting), and derive keeps an architecture within the target.")
    g.string("latency_table", "", "--objective=latency: a table made by enas-arch latency-table "
             "for this space, image size and thread count.")
