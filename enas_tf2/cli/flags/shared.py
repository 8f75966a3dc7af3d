"""The flag groups `enas-cnn` and `enas-ptb` share: what to run and where, the outer loop and
outputs, distribution, the controller's common settings, safety and estimates; and `Group`, which
defines flags into one `FlagValues` and remembers each flag's help group.

Where a shared flag's default differs between the tools (the run folder, epochs, the controller
recipe) the tool passes it in a dict; `tests/test_flag_defaults.py` pins every default to the
tool's default preset.
"""

from __future__ import annotations

from typing import Dict, List, Tuple

from absl import flags as absl_flags

from enas_tf2.cli.overrides import section


class Group:
    """Defines flags into one `FlagValues` and records which help group each belongs to."""

    def __init__(self, flag_values: absl_flags.FlagValues, groups: Dict[str, List[str]],
                 title: str):
        self.fv, self.names = flag_values, groups.setdefault(title, [])

    def _add(self, define, name, default, text, *args, **kwargs):
        define(name, default, *args, text, flag_values=self.fv, **kwargs)
        self.names.append(name)

    def string(self, name, default, text, **kw):
        self._add(absl_flags.DEFINE_string, name, default, text, **kw)

    def integer(self, name, default, text, **kw):
        self._add(absl_flags.DEFINE_integer, name, default, text, **kw)

    def float(self, name, default, text, **kw):
        self._add(absl_flags.DEFINE_float, name, default, text, **kw)

    def bool(self, name, default, text, **kw):
        self._add(absl_flags.DEFINE_bool, name, default, text, **kw)

    def enum(self, name, default, choices, text, **kw):
        absl_flags.DEFINE_enum(name, default, choices, text, flag_values=self.fv, **kw)
        self.names.append(name)


# ---- shared groups -------------------------------------------------------------------------------

def what_to_run(g: Group, d: dict) -> None:
    g.string("config", None, d["config_help"])
    g.string("output_dir", d["output_dir"], d["output_dir_help"])
    g.bool("reset_output_dir", False, "Delete --output_dir first. Without it a rerun RESUMES.")
    g.string("child_fixed_arc", None, d["fixed_arc_help"])
    g.string("arch_json", None, d["arch_json_help"])
    g.bool("derive_only", False, "Do not train; derive arch.json from the newest search "
           "checkpoint.")
    g.integer("seed", 0, d["seed_help"])


def outer_loop(g: Group, d: dict) -> None:
    g.integer("num_epochs", d["num_epochs"], d["num_epochs_help"])
    g.integer("log_every", d["log_every"], "Log a progress line every N steps.")
    g.integer("steps_per_loop", 10, "Training steps run inside one compiled call (fewer host "
              "round trips; a log line never falls inside a call).")
    g.integer("eval_every_epochs", 1, "Evaluate every N epochs.")
    g.integer("derive_num_samples", 100, "Architectures sampled and scored to derive arch.json.")
    g.integer("derive_eval_batches", 5, "Validation batches every derive candidate, as many "
              "uniformly random architectures and the per-epoch samples are scored on (the same "
              "batches for all; arch.json reports the spread).")
    g.integer("max_steps_per_epoch", 0, "Cap on training steps per epoch (0 = a full pass); for "
              "smoke runs.")
    g.integer("max_eval_batches", 0, "Cap on evaluation batches (0 = whole split); for smoke "
              "runs.")
    g.integer("keep_checkpoints", 2, "Checkpoints kept in OUTPUT_DIR/ckpt.")
    g.integer("checkpoint_every_steps", 0, "Also save a checkpoint every N training steps "
              "inside an epoch (0 = only by time and at epoch ends).", lower_bound=0)
    g.float("checkpoint_every_secs", 600.0, "Also save a checkpoint when this many seconds "
            "passed since the last one, between compiled chunks of steps (0 = off); a killed run "
            "loses at most about this much. Epoch ends always save.", lower_bound=0.0)
    g.bool("deterministic", False, "Deterministic TensorFlow ops "
           "(tf.config.experimental.enable_op_determinism, oneDNN kernels off, one inter-op "
           "thread): on CPU a run killed and resumed ends bit-identical to one never "
           "interrupted; slower.")


def distribution(g: Group, d: dict) -> None:
    g.string("strategy", "default", "default | mirrored | multi_worker (reads TF_CONFIG)."
             + d.get("strategy_help", ""))
    g.integer("num_cpu_devices", 0, "Split the CPU into N logical devices (test multi-replica "
              "runs on a CPU-only machine).")


def controller(g: Group, d: dict) -> None:
    g.bool("controller_training", True, "Train the controller (off = shared weights only).")
    g.integer("controller_lstm_size", 64, "Controller LSTM hidden size.")
    g.float("controller_tanh_constant", d["tanh_constant"], "Logits -> c*tanh(logits) (0 = off).")
    g.float("controller_temperature", d["temperature"], "Divide logits by this before tanh "
            "(0 = off).")
    g.float("controller_entropy_weight", d["entropy_weight"], "Entropy bonus added to the "
            "reward.")
    g.float("controller_bl_dec", d["bl_dec"], "Moving-average decay of the reward baseline.")
    g.float("controller_lr", d["controller_lr"], "Controller Adam learning rate.")
    g.integer("controller_num_aggregate", 10, "Samples averaged into one controller update.")
    g.integer("controller_train_steps", d["train_steps"], "Controller updates per epoch.")
    g.integer("controller_train_every", 1, "Train the controller every N epochs.")
    g.bool("controller_adv_norm", False, "Divide the REINFORCE advantage by its running standard "
           "deviation; the first sample sets the baseline (enas_plus recipe; off = the paper).")
    g.integer("controller_warmup_epochs", 0, "Train the shared weights on uniformly random "
              "architectures for the first N epochs before the controller samples or trains "
              "(enas_plus recipe; 0 = the paper).")


def safety(g: Group, d: dict) -> None:
    g.bool("dry_run", False, "Build everything, run a few steps of each kind, print the peak "
           "memory, seconds per step and the projected time per epoch and for the whole run, "
           "then stop (nothing is written to --output_dir).")
    g.bool("preflight", True, "Before the first epoch, measure memory and step times and print "
           "the estimate" + d.get("preflight_help", "") + "; --nopreflight skips it.")
    g.bool("force", False, "Run even when the pre-flight projects more memory than this machine "
           "has.")
    g.float("memory_limit_gb", 0.0, "Refuse runs the pre-flight projects above this many GiB of "
            "memory (0 = what the machine has: MemAvailable, or the container's limit).",
            lower_bound=0.0)


HelpGroups = Tuple[Tuple[str, Tuple[str, ...]], ...]


def help_groups(groups: Dict[str, List[str]]) -> HelpGroups:
    return tuple((title, tuple(names)) for title, names in groups.items())


def off_when_zero(value):
    """The original used 0 for 'off' (None in the config)."""
    return value if value else None


# flag name -> (config section, field, converter) of the shared groups.
SHARED_FIELDS = {
    **section("run", {
        "output_dir": "output_dir", "reset_output_dir": "reset_output_dir",
        "num_epochs": "num_epochs", "log_every": "log_every", "steps_per_loop": "steps_per_loop",
        "eval_every_epochs": "eval_every_epochs", "derive_num_samples": "derive_num_samples",
        "derive_eval_batches": "derive_eval_batches",
        "max_steps_per_epoch": "max_steps_per_epoch", "max_eval_batches": "max_eval_batches",
        "keep_checkpoints": "keep_checkpoints",
        "checkpoint_every_steps": "checkpoint_every_steps",
        "checkpoint_every_secs": "checkpoint_every_seconds", "deterministic": "deterministic",
        "strategy": "strategy", "num_cpu_devices": "num_cpu_devices", "dry_run": "dry_run",
        "force": "force", "preflight": "preflight", "memory_limit_gb": "memory_limit_gb"}),
    **section("controller", {
        "controller_training": "training", "controller_lstm_size": "lstm_size",
        "controller_tanh_constant": "tanh_constant", "controller_temperature": "temperature",
        "controller_entropy_weight": "entropy_weight", "controller_bl_dec": "bl_dec",
        "controller_lr": "lr", "controller_num_aggregate": "num_aggregate",
        "controller_train_steps": "train_steps", "controller_train_every": "train_every",
        "controller_adv_norm": "adv_norm", "controller_warmup_epochs": "warmup_epochs"},
        {"controller_tanh_constant": off_when_zero, "controller_temperature": off_when_zero})
}
