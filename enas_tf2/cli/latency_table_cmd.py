"""`enas-arch latency-table TABLE.json`: measure a space's per-block latencies with the LiteRT
interpreter on this machine, check their sums against whole networks, write the table.

  enas-arch latency-table tables/nb201_32.json --search_for=nb201 --image_size=32 --threads=1

The table names the space and its settings (``--set``), the image size, the thread count and
the precision; a search with ``--objective=latency --latency_table=TABLE.json`` refuses it for
another image size or space. The flags live in `arch_main` (one FlagValues per console script).
"""

from __future__ import annotations

import os

from enas_tf2.errors import EnasError


def latency_table_command(flags, path: str) -> None:
    """Builds and writes the table described by `flags` to `path`, printing progress and the
    prediction error on whole networks."""
    from enas_tf2.cli.entry import import_tensorflow
    from enas_tf2.configs.base import parse_image_size
    from enas_tf2.report.arch_loading import make_config, parse_settings
    from enas_tf2.search_space.registry import get_space

    if not flags.search_for:
        raise EnasError("enas-arch latency-table needs --search_for (nb201 has latency blocks)")
    if flags.threads < 1 or flags.runs < 1 or flags.check_nets < 0 or flags.num_classes < 1:
        raise EnasError("--threads, --runs and --num_classes must be >= 1, --check_nets >= 0")
    if os.path.isdir(path):
        raise EnasError(f"{path} is a folder; give the table's file name, e.g. {path}/table.json")
    size = parse_image_size(flags.image_size or 32)
    import_tensorflow()
    from enas_tf2.cost.latency_measure import build_latency_table
    from enas_tf2.data.specs import ImageSpec

    space = get_space(flags.search_for, make_config(flags.search_for, parse_settings(flags.set)))
    spec = ImageSpec(size[0], size[1], flags.num_classes)
    space.latency_blocks(space.random_arch(0), spec)     # a space without blocks fails here
    table = build_latency_table(space, spec, flags.threads, flags.precision, flags.runs,
                                flags.check_nets, progress=print)
    table.save(path)
    check = table.validation or {}
    if check.get("nets"):
        print(f"summed entries vs whole networks: mean |error| {check['mean_abs_error_pct']}%, "
              f"max {check['max_abs_error_pct']}% over {len(check['nets'])} random nets")
    print(f"wrote {path} ({table.describe()}, {len(table.entries)} blocks)")
