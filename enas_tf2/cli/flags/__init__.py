"""Every flag of the training tools, defined once, in groups; each tool is a list of groups.

  shared.py  the groups both tools have (what to run, outer loop, distribution, controller, safety)
  cnn.py     `enas-cnn`'s own groups: image data, the CNN child, search strategy, precision
  ptb.py     `enas-ptb`'s own groups: text data, the child language model

`enas-cnn` keeps absl's global FLAGS (old scripts' flags parse there); `enas-ptb` has a private
`FlagValues` (many names are shared and tests import both tools into one process). The
conversion of parsed flags into an `ExperimentConfig` is `cli/cnn_config.py` /
`cli/ptb_config.py`; library code never reads flags.
"""

from __future__ import annotations

from typing import Dict, List

from absl import flags as absl_flags

from enas_tf2.cli.flags import cnn, ptb, shared
from enas_tf2.cli.flags.shared import SHARED_FIELDS, Group, HelpGroups


def _define_cnn(fv: absl_flags.FlagValues) -> HelpGroups:
    groups: Dict[str, List[str]] = {}
    d = cnn.SHARED_DEFAULTS
    run = Group(fv, groups, "What to run and where")
    shared.what_to_run(run, d)
    cnn.search_choice(run)
    cnn.data(Group(fv, groups, "Data"))
    shared.outer_loop(Group(fv, groups, "Outer loop and outputs"), d)
    distribution = Group(fv, groups, "Distribution and precision")
    shared.distribution(distribution, d)
    cnn.precision(distribution)
    cnn.child(Group(fv, groups, "Child network and its training"))
    controller = Group(fv, groups, "Controller")
    shared.controller(controller, d)
    cnn.controller_extras(controller)
    cnn.hardware_aware(Group(fv, groups, "Hardware-aware search"))
    safety = Group(fv, groups, "Safety and estimates")
    shared.safety(safety, d)
    cnn.data_safety(safety)
    return shared.help_groups(groups)


def _define_ptb(fv: absl_flags.FlagValues) -> HelpGroups:
    groups: Dict[str, List[str]] = {}
    d = ptb.SHARED_DEFAULTS
    shared.what_to_run(Group(fv, groups, "What to run and where"), d)
    ptb.data(Group(fv, groups, "Data"))
    shared.outer_loop(Group(fv, groups, "Outer loop and outputs"), d)
    shared.distribution(Group(fv, groups, "Distribution"), d)
    ptb.child(Group(fv, groups, "Child language model and its training"))
    shared.controller(Group(fv, groups, "Controller"), d)
    shared.safety(Group(fv, groups, "Safety and estimates"), d)
    return shared.help_groups(groups)


CNN_FLAGS = absl_flags.FLAGS
CNN_HELP_GROUPS = _define_cnn(CNN_FLAGS)
PTB_FLAGS = absl_flags.FlagValues()
PTB_HELP_GROUPS = _define_ptb(PTB_FLAGS)

__all__ = ["CNN_FLAGS", "CNN_HELP_GROUPS", "PTB_FLAGS", "PTB_HELP_GROUPS", "SHARED_FIELDS"]
