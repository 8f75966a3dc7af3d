"""`enas-ptb`: search a recurrent cell on Penn Treebank, or train a given cell from scratch.

  enas-ptb --data_path=data/ptb --output_dir=runs/ptb_search                          # search
  enas-ptb --arch_json=runs/ptb_search/arch.json --output_dir=runs/ptb_final          # final
  enas-ptb --child_fixed_arc="0 2 1 0 2 1 2 2 4 0 5 0 3 2 6 2" --output_dir=runs/ptb_final
  enas-ptb --config=ptb_rnn_search.smoke --data_path=data/ptb                         # CPU-sized

The recipe is enas_lm's corrected one (presets ptb_rnn_search / ptb_rnn_final). Rerunning the
same command resumes from the newest checkpoint in --output_dir; `enas-export` turns a finished
final run into a SavedModel that scores text. A thin layer over the Python API (`enas_tf2.api`):
flags -> ExperimentConfig -> api call.
"""

from __future__ import annotations

import dataclasses

from enas_tf2.cli import ptb_config
from enas_tf2.cli.entry import import_tensorflow, run_main
from enas_tf2.errors import EnasError


def _arch_and_config(parsed: dict):
    """The architecture of --child_fixed_arc / --arch_json and the config to train it with: the
    cell's node count and encoding come from the architecture unless given as flags."""
    from enas_tf2 import api
    from enas_tf2.search_space.rnn.arch import RnnArch
    cfg = parsed["config"]
    if parsed["fixed_arc"]:
        arch = RnnArch.from_tokens(parsed["fixed_arc"])
    else:
        obj = api.load_arch_json(parsed["arch_json"])
        if obj.get("search_space") != cfg.space:
            raise EnasError(f"--arch_json {parsed['arch_json']} holds a "
                            f"{obj.get('search_space')!r} architecture, not an rnn cell")
        arch = RnnArch.from_json(obj)
    if not parsed["arch_shaped"]:
        cfg = cfg.replace(space_config=dataclasses.replace(
            cfg.space_config, num_nodes=arch.num_nodes, cell_variant=arch.cell_variant))
    # Validated against the space's config (a --child_rhn_depth that disagrees is refused).
    return api.parse_arch_json(cfg.space, arch.to_json(), cfg.space_config), cfg


def main(argv):
    """Search, or final training with --child_fixed_arc / --arch_json."""
    del argv
    import_tensorflow()        # quietly: the space's modules load it
    parsed = ptb_config.to_experiment()
    from enas_tf2 import api
    if parsed["fixed_arc"] or parsed["arch_json"]:
        arch, cfg = _arch_and_config(parsed)
        api.train_final(cfg, arch)
    else:
        api.search(parsed["config"], derive_only=parsed["derive_only"])


def run():
    """Console-script entry point."""
    run_main(main, ptb_config.FLAGS, __doc__, ptb_config.HELP_GROUPS)


if __name__ == "__main__":
    run()
