"""Every `enas-ptb` flag, defined once, and their conversion into an `ExperimentConfig`.

A run starts from a preset (``--config``): ``ptb_rnn_search`` (enas_lm's search values) for a
search, ``ptb_rnn_final`` (enas_lm's final-training values) when an architecture is given with
``--child_fixed_arc`` or ``--arch_json``. Every flag given on the command line overrides the
matching field; flags not given keep the preset's value. The listed defaults are the
``ptb_rnn_search`` values (``ptb_rnn_final``: hidden 800, batch 64, clip 0.25, its dropouts,
alpha 0.7, beta 0, init 0.05, 3000 epochs).

Names follow the original PTB ``main.py`` where it has the setting (``--child_bptt_steps``,
``--child_rhn_depth``, ``--child_lstm_hidden_size``, ``--child_l2_reg``,
``--child_rnn_slowness_reg``, ``--child_grad_bound``, ``--child_lr``, ``--controller_*``). The
dropouts are enas_lm's RATES (``--child_drop_e`` ...), not the original's keep probabilities: the
corrected model drops different things (word types, embedding units, DropConnect).

The flags live in a private `FlagValues` (enas-cnn's global flags share many names and tests
import both CLIs into one process).
"""

from __future__ import annotations

import dataclasses

from absl import flags as absl_flags

from enas_tf2.cli.overrides import apply_overrides, check_positive, present_flags
from enas_tf2.errors import EnasError

FLAGS = absl_flags.FlagValues()
SEARCH_PRESET = "ptb_rnn_search"
FINAL_PRESET = "ptb_rnn_final"


def _string(name, default, text):
    absl_flags.DEFINE_string(name, default, text, flag_values=FLAGS)


def _int(name, default, text):
    absl_flags.DEFINE_integer(name, default, text, flag_values=FLAGS)


def _float(name, default, text):
    absl_flags.DEFINE_float(name, default, text, flag_values=FLAGS)


def _bool(name, default, text):
    absl_flags.DEFINE_bool(name, default, text, flag_values=FLAGS)


# ---- what to run and where -------------------------------------------------------------------
_string("config", None, "Preset to start from (flags override its fields): ptb_rnn_search, "
        "ptb_rnn_final, or NAME.smoke for a CPU-sized run. Default: ptb_rnn_final when an "
        "architecture is given (--child_fixed_arc / --arch_json), else ptb_rnn_search.")
_string("output_dir", "runs/ptb_rnn_search", "Run folder: checkpoints, logs, arch.json (search) "
        "or run_config.json and best/ (final). Default: the preset's (runs/<preset name>).")
_bool("reset_output_dir", False, "Delete --output_dir first. Without it a rerun RESUMES.")
_string("child_fixed_arc", None, "Train this cell from scratch instead of searching: the token "
        "string, enas_lm's 2K tokens (published: '0 2 1 0 2 1 2 2 4 0 5 0 3 2 6 2') or the "
        "original repo's 2D-1. The node count and encoding follow the string.")
_string("arch_json", None, "Train the cell of a search's arch.json (or run folder) from scratch.")
_bool("derive_only", False, "Do not train; derive arch.json from the newest search checkpoint.")
_int("seed", 0, "Seed of every random stream (sampling, dropout, window lengths).")

# ---- data --------------------------------------------------------------------------------------
_string("data_path", "data/ptb", "Folder with ptb.train.txt, ptb.valid.txt, ptb.test.txt "
        "(scripts/download_ptb.sh fetches them).")
_int("batch_size", 128, "Parallel training rows (global; split over replicas). enas_lm: 128 "
     "search, 64 final.")
_int("eval_batch_size", 128, "Rows of the validation pass and of the controller's reward "
     "batches.")
_int("test_batch_size", 1, "Rows of the test pass (1: the whole test stream in one row, as "
     "enas_lm).")
_int("child_bptt_steps", 35, "BPTT window length (training windows vary around it, evaluation "
     "windows are exactly this long).")
_bool("child_variable_bptt", True, "enas_lm's random training window lengths (35 w.p. 0.95 "
      "else 17.5, plus N(0, 5)); the learning rate is scaled by length / bptt. Off: fixed "
      "windows.")

# ---- outer loop ----------------------------------------------------------------------------------
_int("num_epochs", 600, "Epochs to train (one epoch = one pass over the training stream); "
     "final runs: ptb_rnn_final's 3000.")
_int("log_every", 100, "Log a progress line every N steps.")
_int("steps_per_loop", 10, "Training steps run inside one compiled call.")
_int("eval_every_epochs", 1, "Evaluate every N epochs.")
_int("derive_num_samples", 100, "Cells sampled and scored to derive arch.json.")
_int("derive_eval_batches", 5, "Validation batches every derive candidate (and as many random "
     "cells) is scored on.")
_int("max_steps_per_epoch", 0, "Cap on training windows per epoch (0 = a full pass); for smoke "
     "runs.")
_int("max_eval_batches", 0, "Cap on evaluation batches (0 = whole split); for smoke runs.")
_int("keep_checkpoints", 2, "Checkpoints kept in OUTPUT_DIR/ckpt.")
_int("checkpoint_every_steps", 0, "Also save a checkpoint every N training steps inside an epoch (0 = only by time and at epoch ends).")
_float("checkpoint_every_secs", 600.0, "Also save a checkpoint when this many seconds passed since the last one, between compiled chunks of steps (0 = off); a killed run loses at most about this much. Epoch ends always save.")
_bool("deterministic", False, "Deterministic TensorFlow ops (tf.config.experimental.enable_op_determinism, oneDNN kernels off, one inter-op thread): on CPU a run killed and resumed ends bit-identical to one never interrupted; slower.")

# ---- distribution ----------------------------------------------------------------------------------
_string("strategy", "default", "default | mirrored | multi_worker (reads TF_CONFIG). Every "
        "replica carries its own rows' state; batch sizes must divide by the replica count.")
_int("num_cpu_devices", 0, "Split the CPU into N logical devices (test multi-replica runs on a "
     "CPU-only machine).")

# ---- child language model ----------------------------------------------------------------------
absl_flags.DEFINE_enum("child_cell_variant", "enas_lm", ["enas_lm", "original"],
                       "Search: 'enas_lm' (corrected: fixed tanh node 0, output = mean of the "
                       "searched nodes) or 'original' (melodyguan/enas encoding: searched node-0 "
                       "activation, mean of loose ends). Final runs take it from the arc.",
                       flag_values=FLAGS)
_int("child_rhn_depth", 10, "Nodes of the cell, node 0 included (the original's depth D): the "
     "controller searches D-1 (prev, func) nodes. enas_lm search: 10; the published cell has "
     "9. Final runs take it from the arc.")
_int("child_lstm_hidden_size", 200, "Cell width; the word embedding has the same size (tied "
     "softmax). enas_lm: 200 search, 800 final.")
_float("child_drop_e", 0.10, "Word-type dropout RATE (whole embedding rows).")
_float("child_drop_i", 0.20, "Embedding-unit dropout rate (one mask per row, shared over time).")
_float("child_drop_x", 0.75, "Rate of the mask on the cell input entering node 0.")
_float("child_drop_l", 0.25, "Rate of the mask on every node's input state.")
_float("child_drop_o", 0.75, "Output dropout rate (before the softmax).")
_float("child_drop_w", 0.0, "DropConnect rate on the recurrent weights.")
_float("child_init_range", 0.04, "Every weight is uniform(-r, r).")
_float("child_l2_reg", 8e-7, "Weight decay: this times the sum of squared weights (final: all "
       "weights; search: node 0 and the sampled cell's slices).")
_float("child_rnn_activation_reg", 0.0, "Activation L2 (enas_lm's alpha): times mean(h^2) of "
       "the cell outputs. enas_lm final: 0.7.")
_float("child_rnn_slowness_reg", 1.0, "Slowness (enas_lm's beta): times mean((h_t - "
       "h_{t-1})^2). enas_lm final: 0.")
_float("child_grad_bound", 0.1, "Clip child gradients to this global norm (enas_lm: 0.1 "
       "search, 0.25 final; 0 = off).")
_float("child_lr", 20.0, "SGD learning rate (scaled per window by length / bptt).")
_int("child_lr_dec_every", 1, "Decay the learning rate every N epochs ...")
_float("child_lr_dec_rate", 1.0, "... by this factor (1.0 = constant, enas_lm's).")

# ---- controller ----------------------------------------------------------------------------------
_bool("controller_training", True, "Train the controller (off = shared weights only).")
_int("controller_lstm_size", 64, "Controller LSTM hidden size.")
_float("controller_tanh_constant", 2.25, "Logits -> c*tanh(logits) (0 = off).")
_float("controller_temperature", 5.0, "Divide logits by this before tanh (0 = off).")
_float("controller_entropy_weight", 1e-5, "Entropy bonus added to the reward.")
_float("controller_bl_dec", 0.999, "Moving-average decay of the reward baseline.")
_float("controller_lr", 5e-5, "Controller Adam learning rate.")
_int("controller_num_aggregate", 10, "Samples averaged into one controller update.")
_int("controller_train_steps", 25, "Controller updates per epoch.")
_int("controller_train_every", 1, "Train the controller every N epochs.")
_bool("controller_adv_norm", False, "Divide the REINFORCE advantage by its running standard "
    "deviation; the first sample sets the baseline (enas_plus recipe; off = the paper).")
_int("controller_warmup_epochs", 0, "Train the shared weights on uniformly random "
    "architectures for the first N epochs before the controller samples or trains "
    "(enas_plus recipe; 0 = the paper).")

# ---- resume safety and the pre-flight (issue 13) ----------------------------------------------------
_bool("dry_run", False, "Build everything, run a few steps of each kind, print the peak memory, "
      "seconds per step and the projected time per epoch and for the whole run, then stop "
      "(nothing is written to --output_dir).")
_bool("force", False, "Run even when the pre-flight projects more memory than this machine has.")
_bool("preflight", True, "Before the first epoch, measure memory and step times and print the "
      "estimate; --nopreflight skips it.")
absl_flags.DEFINE_float("memory_limit_gb", 0.0, "Refuse runs the pre-flight projects above this "
                        "many GiB of memory (0 = what the machine has).", lower_bound=0.0,
                        flag_values=FLAGS)

HELP_GROUPS = (
    ("What to run and where", ("config", "output_dir", "reset_output_dir", "child_fixed_arc",
                               "arch_json", "derive_only", "seed")),
    ("Data", ("data_path", "batch_size", "eval_batch_size", "test_batch_size",
              "child_bptt_steps", "child_variable_bptt")),
    ("Outer loop and outputs", ("num_epochs", "log_every", "steps_per_loop", "eval_every_epochs",
                                "derive_num_samples", "derive_eval_batches",
                                "max_steps_per_epoch", "max_eval_batches", "keep_checkpoints",
                                "checkpoint_every_steps", "checkpoint_every_secs",
                                "deterministic")),
    ("Distribution", ("strategy", "num_cpu_devices")),
    ("Child language model and its training", (
        "child_cell_variant", "child_rhn_depth", "child_lstm_hidden_size", "child_drop_e",
        "child_drop_i", "child_drop_x", "child_drop_l", "child_drop_o", "child_drop_w",
        "child_init_range", "child_l2_reg", "child_rnn_activation_reg",
        "child_rnn_slowness_reg", "child_grad_bound", "child_lr", "child_lr_dec_every",
        "child_lr_dec_rate")),
    ("Controller", (
        "controller_training", "controller_lstm_size", "controller_tanh_constant",
        "controller_temperature", "controller_entropy_weight", "controller_bl_dec",
        "controller_lr", "controller_num_aggregate", "controller_train_steps",
        "controller_train_every", "controller_adv_norm",
        "controller_warmup_epochs")),
    ("Safety and estimates", ("dry_run", "preflight", "force", "memory_limit_gb")),
)


def _opt(value):
    """0 means 'off' (None in the config), as in the original."""
    return value if value else None


def _depth_to_nodes(depth: int) -> int:
    """The original's depth D counts node 0; the config counts the D-1 searched nodes."""
    return depth - 1


# flag name -> (config section, field, converter)
FIELDS = {
    "output_dir": ("run", "output_dir", None), "reset_output_dir": ("run", "reset_output_dir", None),
    "data_path": ("data", "data_path", None), "batch_size": ("data", "batch_size", None),
    "eval_batch_size": ("data", "eval_batch_size", None),
    "test_batch_size": ("data", "test_batch_size", None),
    "child_bptt_steps": ("data", "bptt", None),
    "child_variable_bptt": ("data", "variable_length", None),
    "num_epochs": ("run", "num_epochs", None), "log_every": ("run", "log_every", None),
    "steps_per_loop": ("run", "steps_per_loop", None),
    "eval_every_epochs": ("run", "eval_every_epochs", None),
    "derive_num_samples": ("run", "derive_num_samples", None),
    "derive_eval_batches": ("run", "derive_eval_batches", None),
    "max_steps_per_epoch": ("run", "max_steps_per_epoch", None),
    "max_eval_batches": ("run", "max_eval_batches", None),
    "keep_checkpoints": ("run", "keep_checkpoints", None),
    "checkpoint_every_steps": ("run", "checkpoint_every_steps", None),
    "checkpoint_every_secs": ("run", "checkpoint_every_seconds", None),
    "deterministic": ("run", "deterministic", None),
    "strategy": ("run", "strategy", None), "num_cpu_devices": ("run", "num_cpu_devices", None),
    "child_cell_variant": ("space_config", "cell_variant", None),
    "child_rhn_depth": ("space_config", "num_nodes", _depth_to_nodes),
    "child_lstm_hidden_size": ("space_config", "hidden_size", None),   # + embed_size, below
    "child_drop_e": ("space_config", "drop_e", None),
    "child_drop_i": ("space_config", "drop_i", None),
    "child_drop_x": ("space_config", "drop_x", None),
    "child_drop_l": ("space_config", "drop_l", None),
    "child_drop_o": ("space_config", "drop_o", None),
    "child_drop_w": ("space_config", "drop_w", None),
    "child_init_range": ("space_config", "init_range", None),
    "child_l2_reg": ("space_config", "weight_decay", None),
    "child_rnn_activation_reg": ("space_config", "alpha", None),
    "child_rnn_slowness_reg": ("space_config", "beta", None),
    "child_grad_bound": ("optim", "grad_bound", None), "child_lr": ("optim", "lr", None),
    "child_lr_dec_every": ("optim", "lr_dec_every", None),
    "child_lr_dec_rate": ("optim", "lr_dec_rate", None),
    "controller_training": ("controller", "training", None),
    "controller_lstm_size": ("controller", "lstm_size", None),
    "controller_tanh_constant": ("controller", "tanh_constant", _opt),
    "controller_temperature": ("controller", "temperature", _opt),
    "controller_entropy_weight": ("controller", "entropy_weight", None),
    "controller_bl_dec": ("controller", "bl_dec", None), "controller_lr": ("controller", "lr", None),
    "controller_num_aggregate": ("controller", "num_aggregate", None),
    "controller_train_steps": ("controller", "train_steps", None),
    "controller_train_every": ("controller", "train_every", None),
    "controller_adv_norm": ("controller", "adv_norm", None),
    "controller_warmup_epochs": ("controller", "warmup_epochs", None),
    "dry_run": ("run", "dry_run", None), "force": ("run", "force", None),
    "preflight": ("run", "preflight", None), "memory_limit_gb": ("run", "memory_limit_gb", None),
}
POSITIVE = ("batch_size", "eval_batch_size", "test_batch_size", "child_bptt_steps", "num_epochs",
            "log_every", "steps_per_loop", "eval_every_epochs", "derive_num_samples",
            "derive_eval_batches", "keep_checkpoints", "child_lstm_hidden_size", "child_lr",
            "controller_lstm_size", "controller_num_aggregate", "controller_train_steps",
            "controller_train_every", "child_lr_dec_every", "child_lr_dec_rate")
RATES = ("child_drop_e", "child_drop_i", "child_drop_x", "child_drop_l", "child_drop_o",
         "child_drop_w")
# Settings a final run takes from its architecture unless given explicitly.
ARCH_SHAPED = ("child_rhn_depth", "child_cell_variant")


def _check(fl, present: set) -> None:
    if fl.child_fixed_arc and fl.arch_json:
        raise EnasError("give either --child_fixed_arc or --arch_json, not both")
    if fl.derive_only and (fl.child_fixed_arc or fl.arch_json):
        raise EnasError("--derive_only derives a search's arch.json; it takes no architecture")
    check_positive(fl, POSITIVE, present)
    for name in ("max_steps_per_epoch", "max_eval_batches", "num_cpu_devices"):
        if name in present and getattr(fl, name) < 0:
            raise EnasError(f"--{name}={getattr(fl, name)} must be >= 0")
    for name in RATES:
        if name in present and not 0.0 <= getattr(fl, name) < 1.0:
            raise EnasError(f"--{name}={getattr(fl, name)} is a dropout RATE and must be in "
                            f"[0, 1)")
    if "child_rhn_depth" in present and fl.child_rhn_depth < 2:
        raise EnasError(f"--child_rhn_depth={fl.child_rhn_depth}: a cell needs node 0 and at "
                        f"least one searched node (depth >= 2)")
    for name in ("child_init_range", "child_l2_reg", "child_rnn_activation_reg",
                 "child_rnn_slowness_reg", "child_grad_bound"):
        if name in present and getattr(fl, name) < 0:
            raise EnasError(f"--{name}={getattr(fl, name)} must be >= 0")


def to_experiment(fl=FLAGS) -> dict:
    """Turns parsed flags into ``{"config": ExperimentConfig, "fixed_arc", "arch_json",
    "derive_only", "arch_shaped"}`` (the only place these flags are read). ``arch_shaped``: the
    node count and cell encoding were given explicitly (else a final run takes them from its
    architecture)."""
    from enas_tf2.configs.presets import get_preset
    present = present_flags(fl, FIELDS)
    _check(fl, present)
    final = bool(fl.child_fixed_arc or fl.arch_json)
    cfg = get_preset(fl.config or (FINAL_PRESET if final else SEARCH_PRESET))
    if cfg.space != "rnn":
        raise EnasError(f"--config={fl.config} is a {cfg.space} preset; enas-ptb runs the rnn "
                        f"presets (ptb_rnn_search, ptb_rnn_final, and their .smoke variants)")
    cfg = apply_overrides(cfg, fl, present - {"child_lstm_hidden_size"}, FIELDS)
    if "child_lstm_hidden_size" in present:
        # Tied softmax: the embedding is the output projection, so it has the cell's width
        # (both change at once: the config refuses a tied pair of different sizes).
        space, size = cfg.space_config, fl.child_lstm_hidden_size
        cfg = cfg.replace(space_config=dataclasses.replace(
            space, hidden_size=size, embed_size=size if space.tie_weights else space.embed_size))
    return {"config": cfg, "fixed_arc": fl.child_fixed_arc, "arch_json": fl.arch_json,
            "derive_only": fl.derive_only,
            "arch_shaped": bool(present.intersection(ARCH_SHAPED))}
