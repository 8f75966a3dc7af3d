"""`enas-cnn`'s flags (defined in `cli/flags/`) turned into an `ExperimentConfig`.

A run starts from a preset (``--config``, default ``cifar10_<search_for>_search``: the authors'
search-script values) and every flag given on the command line overrides the matching field;
flags not given keep the preset's value (their listed defaults are the ``cifar10_micro_search``
values).
"""

from __future__ import annotations

from enas_tf2.cli.flags import CNN_FLAGS as FLAGS
from enas_tf2.cli.flags import CNN_HELP_GROUPS as HELP_GROUPS
from enas_tf2.cli.flags import SHARED_FIELDS
from enas_tf2.cli.overrides import apply_overrides, check_positive, present_flags, section
from enas_tf2.errors import EnasError

__all__ = ["FIELDS", "FLAGS", "HELP_GROUPS", "to_experiment"]


# flag name -> (config section, field, converter). `space` fields exist only in some spaces.
FIELDS = {
    **SHARED_FIELDS,
    **section("data", {
        "dataset": "dataset", "data_path": "data_path", "valid_size": "valid_size",
        "image_size": "image_size", "batch_size": "batch_size",
        "eval_batch_size": "eval_batch_size", "child_cutout_size": "cutout_size",
        "skip_corrupt_records": "skip_corrupt_records"}),
    **section("run", {
        "mixed_precision": "mixed_precision", "jit_compile": "jit_compile",
        "search_strategy": "search_strategy"}),
    **section("space_config", {
        "child_num_layers": "num_layers", "child_num_cells": "num_cells",
        "child_out_filters": "out_filters", "child_keep_prob": "keep_prob", "child_stem": "stem",
        "child_drop_path_keep_prob": "drop_path_keep_prob",
        "child_use_aux_heads": "use_aux_heads", "controller_op_tanh_reduce": "op_tanh_reduce",
        "controller_skip_target": "skip_target", "controller_skip_weight": "skip_weight",
        "child_fixed_ops": "fixed_ops"}),
    **section("optim", {
        "child_l2_reg": "l2_reg", "child_grad_bound": "grad_bound",
        "child_lr_cosine": "lr_cosine", "child_lr": "lr", "child_lr_dec_every": "lr_dec_every",
        "child_lr_dec_rate": "lr_dec_rate", "child_lr_max": "lr_max", "child_lr_min": "lr_min",
        "child_lr_T_0": "lr_T_0", "child_lr_T_mul": "lr_T_mul", "child_grad_clip": "grad_clip"}),
    **section("controller", {"controller_lstm_num_layers": "lstm_num_layers"}),
    **section("objective", {
        "objective": "kind", "cost_target": "target", "cost_weight": "weight",
        "cost_constraint": "constraint", "latency_table": "latency_table"})
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
