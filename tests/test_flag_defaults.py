"""`--help` prints the defaults a run really gets: every flag that maps onto a config field has
the default of the tool's default preset (a flag not given leaves the preset's value, so a
different flag default would be a help text that is not true)."""

import pytest

from enas_tf2.configs.presets import get_preset


@pytest.mark.parametrize("module, preset", [("enas_tf2.cli.cnn_config", "cifar10_micro_search"),
                                            ("enas_tf2.cli.ptb_config", "ptb_rnn_search")])
def test_every_mapped_flag_default_is_the_default_presets_value(module, preset):
    import importlib
    flags = importlib.import_module(module)
    cfg = get_preset(preset)
    wrong = []
    for name, (section, field, convert) in flags.FIELDS.items():
        part = getattr(cfg, section)
        if not hasattr(part, field):
            continue                       # a field of another space's config
        default = flags.FLAGS[name].default
        value = convert(default) if convert else default
        if value != getattr(part, field):
            wrong.append(f"--{name} default {default!r} but {preset} has {getattr(part, field)!r}")
    assert not wrong, wrong
