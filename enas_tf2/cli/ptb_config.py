"""`enas-ptb`'s flags (defined in `cli/flags/`) turned into an `ExperimentConfig`.

A run starts from a preset (``--config``): ``ptb_rnn_search`` (enas_lm's search values) for a
search, ``ptb_rnn_final`` (enas_lm's final-training values) when an architecture is given with
``--child_fixed_arc`` or ``--arch_json``. Every flag given on the command line overrides the
matching field; flags not given keep the preset's value.
"""

from __future__ import annotations

import dataclasses

from enas_tf2.cli.flags import PTB_FLAGS as FLAGS
from enas_tf2.cli.flags import PTB_HELP_GROUPS as HELP_GROUPS
from enas_tf2.cli.flags import SHARED_FIELDS
from enas_tf2.cli.overrides import apply_overrides, check_positive, present_flags, section
from enas_tf2.errors import EnasError

__all__ = ["FIELDS", "FLAGS", "HELP_GROUPS", "to_experiment"]
SEARCH_PRESET = "ptb_rnn_search"
FINAL_PRESET = "ptb_rnn_final"


def _depth_to_nodes(depth: int) -> int:
    """The original's depth D counts node 0; the config counts the D-1 searched nodes."""
    return depth - 1


# flag name -> (config section, field, converter)
FIELDS = {
    **SHARED_FIELDS,
    **section("data", {
        "data_path": "data_path", "batch_size": "batch_size",
        "eval_batch_size": "eval_batch_size", "test_batch_size": "test_batch_size",
        "child_bptt_steps": "bptt", "child_variable_bptt": "variable_length"}),
    **section("space_config", {
        "child_cell_variant": "cell_variant", "child_rhn_depth": "num_nodes",
        "child_lstm_hidden_size": "hidden_size", "child_drop_e": "drop_e",
        "child_drop_i": "drop_i", "child_drop_x": "drop_x", "child_drop_l": "drop_l",
        "child_drop_o": "drop_o", "child_drop_w": "drop_w", "child_init_range": "init_range",
        "child_l2_reg": "weight_decay", "child_rnn_activation_reg": "alpha",
        "child_rnn_slowness_reg": "beta"}, {"child_rhn_depth": _depth_to_nodes}),
    **section("optim", {
        "child_grad_bound": "grad_bound", "child_lr": "lr", "child_lr_dec_every": "lr_dec_every",
        "child_lr_dec_rate": "lr_dec_rate"})
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
