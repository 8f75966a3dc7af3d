"""`enas-cnn`: search a CNN architecture, or train a given one from scratch.

  enas-cnn --search_for=micro --data_path=data/cifar10 --output_dir=runs/search      # search
  enas-cnn --search_for=micro --arch_json=runs/search/arch.json --output_dir=runs/final  # final
  enas-cnn --config=cifar10_micro_search.smoke --data_path=data/cifar10              # CPU-sized

Rerunning the same command resumes from the newest checkpoint in --output_dir. Everything here is
a thin layer over the Python API (`enas_tf2.api`): flags -> ExperimentConfig -> api call.
"""

from __future__ import annotations

import logging

from enas_tf2.cli import cnn_config
from enas_tf2.cli.entry import import_tensorflow, run_main
from enas_tf2.errors import EnasError

LOGGER = logging.getLogger("enas_tf2")


def main(argv):
    """Search, or final training with --child_fixed_arc / --arch_json."""
    del argv
    import_tensorflow()        # quietly: the spaces' modules (presets, checks) load it
    parsed = cnn_config.to_experiment()
    cfg = parsed["config"]
    from enas_tf2 import api
    if parsed["fixed_arc"] or parsed["arch_json"]:
        if parsed["fixed_arc"]:
            arch = api.parse_arch(cfg.space, parsed["fixed_arc"], cfg.space_config)
        else:
            obj = api.load_arch_json(parsed["arch_json"])
            if obj.get("search_space") != cfg.space:
                raise EnasError(f"--arch_json {parsed['arch_json']} holds a "
                                f"{obj.get('search_space')!r} architecture, but this run is for "
                                f"--search_for={cfg.space}")
            arch = api.parse_arch_json(cfg.space, obj, cfg.space_config)
        api.train_final(cfg, arch)
    else:
        api.search(cfg, derive_only=parsed["derive_only"], nb201_table=parsed["nb201_table"],
                   oracle_samples=parsed["oracle_samples"])


def run():
    """Console-script entry point."""
    run_main(main, cnn_config.FLAGS, __doc__, cnn_config.HELP_GROUPS)


if __name__ == "__main__":
    run()
