"""`enas-cnn`: search a CNN architecture, or train a given one from scratch.

  enas-cnn --search_for=micro --data_path=data/cifar10 --output_dir=runs/search      # search
  enas-cnn --search_for=micro --arch_json=runs/search/arch.json --output_dir=runs/final  # final

Rerunning the same command resumes from the newest checkpoint in --output_dir.
"""

from __future__ import annotations

import dataclasses
import json
import logging

from enas_tf2.cli import flags as cnn_flags
from enas_tf2.cli.entry import run_main
from enas_tf2.errors import EnasError

LOGGER = logging.getLogger("enas_tf2")


def _load_arch(space, cfgs):
    if cfgs["fixed_arc"]:
        return space.arch_from_tokens(cfgs["fixed_arc"])
    path = cfgs["arch_json"]
    try:
        with open(path) as f:
            obj = json.load(f)
    except OSError as err:
        raise EnasError(f"cannot read --arch_json {path}: {err.strerror}") from err
    except json.JSONDecodeError as err:
        raise EnasError(f"--arch_json {path} is not valid JSON ({err.msg} at line {err.lineno})")
    if not isinstance(obj, dict):
        raise EnasError(f"--arch_json {path} must hold a JSON object")
    return space.arch_from_json(obj)


def main(argv):
    if len(argv) > 1:
        raise EnasError(f"unexpected arguments: {' '.join(argv[1:])}")
    cfgs = cnn_flags.to_configs()
    # Imported late so that --help and flag errors do not pay for TensorFlow's start-up.
    import tensorflow as tf

    from enas_tf2.data.images.pipeline import build_data, explain_read_error
    from enas_tf2.search_space.registry import make_space
    from enas_tf2.training.strategy import check_batch_size, make_strategy

    run_cfg = cfgs["run"]
    strategy = make_strategy(run_cfg.strategy, run_cfg.num_cpu_devices)
    check_batch_size(strategy, cfgs["data"].batch_size, "--batch_size")
    check_batch_size(strategy, cfgs["data"].eval_batch_size, "--eval_batch_size")
    fixed = bool(cfgs["fixed_arc"] or cfgs["arch_json"])
    space = make_space(cfgs["search_for"], cfgs["child"], cfgs["controller"])
    arch = _load_arch(space, cfgs) if fixed else None  # validate before loading any data
    data = build_data(cfgs["data"])
    child_cfg = dataclasses.replace(cfgs["child"], num_classes=data.num_classes)
    space = make_space(cfgs["search_for"], child_cfg, cfgs["controller"])
    LOGGER.info("data: %s images of %s, %d classes; strategy %s with %d replica(s)",
                data.counts, data.image_shape, data.num_classes, run_cfg.strategy,
                strategy.num_replicas_in_sync)
    try:
        _run(fixed, space, arch, data, child_cfg, cfgs, strategy)
    except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as err:
        # Corrupt shards and out-of-range labels surface here, deep in a step; name the file.
        raise explain_read_error(cfgs["data"].data_path, err) from None


def _run(fixed, space, arch, data, child_cfg, cfgs, strategy):
    run_cfg = cfgs["run"]
    if fixed:
        from enas_tf2.training.final_loop import FinalLoop
        FinalLoop(space, arch, data, cfgs["data"], child_cfg, cfgs["optim"], run_cfg,
                  strategy).run()
        return
    from enas_tf2.training.search_loop import SearchLoop
    loop = SearchLoop(space, data, cfgs["data"], cfgs["controller"], cfgs["optim"], run_cfg,
                      strategy)
    if cfgs["derive_only"]:
        if loop.state.restored is None:
            raise EnasError(f"--derive_only: no checkpoint in {run_cfg.output_dir}/ckpt")
        loop.derive()
    else:
        loop.run()


def run():
    """Console-script entry point."""
    run_main(main)


if __name__ == "__main__":
    run()
