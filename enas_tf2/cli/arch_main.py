"""`enas-arch`: look at architectures and searches.

  enas-arch show   SOURCE            describe every node/layer, output shapes, parameter count
  enas-arch render SOURCE            pictures: arch.png, arch.svg, arch.dot
  enas-arch diff   SOURCE_A SOURCE_B what differs between two architectures
  enas-arch report RUN_DIR           summary.json + report.html (+ arch.png/svg) of a search
  enas-arch naswot --data_path=CIFAR --cells N [--nb201_table=CSV]
                                     NASWOT zero-cost baseline on the nb201 space: score N
                                     random cells at initialisation, keep the best
  enas-arch latency-table TABLE.json --search_for=nb201 --image_size=32 --threads=1
                                     LiteRT latency of every block of the space on this
                                     machine, checked on whole nets (docs/deploy.md)
  enas-arch rank   RUN_DIR --archs K --epochs E
                                     train K of the search's architectures standalone for E
                                     short epochs: Kendall tau of shared-weight reward vs
                                     standalone accuracy (RUN_DIR/rank/rank.json)

Analysis never edits a run: every file a run wrote stays byte-identical. render and report write
into ``analysis/`` beside the source (or ``--output_dir``), rank into ``RUN_DIR/rank/``.

With ``--nb201_table=CSV`` (the NAS-Bench-201 table), `show` and `report` of an nb201 cell also
give its true CIFAR-10 accuracy and percentile among all 15,625 cells.

SOURCE is an ``arch.json`` file, a run folder (its ``arch.json``, or a final run's
``run_config.json``), or, with ``--search_for=micro``, a token string::

  enas-arch show --search_for=micro "0 2 0 0 0 4 0 1 ..." --set num_layers=15 --set out_filters=36
  enas-arch show runs/my_search --image_size=320x160 --set stem=imagenet
"""

from __future__ import annotations

import dataclasses
import os
import sys

from absl import flags as absl_flags

from enas_tf2.cli.entry import import_tensorflow, run_main
from enas_tf2.errors import EnasError

# A private FlagValues: names like --output_dir and --search_for also exist in enas-cnn's global
# flags, and tests import several CLIs into one process.
FLAGS = absl_flags.FlagValues()
absl_flags.DEFINE_string("search_for", None, "Search space of a token-string SOURCE (micro, "
                         "macro, rnn); not needed for arch.json files and run folders.",
                         flag_values=FLAGS)
absl_flags.DEFINE_multi_string("set", [], "FIELD=VALUE override of the space's config, e.g. "
                               "--set num_layers=15 --set out_filters=36 (a child_ prefix is "
                               "allowed).", flag_values=FLAGS)
absl_flags.DEFINE_string("image_size", None, "show: image size the fixed net is built for, "
                         "224 or HxW like 320x160 (default: the size a run folder saved, else "
                         "32); shapes, stages and parameters follow it and the stem (--set "
                         "stem=imagenet or auto).", flag_values=FLAGS)
absl_flags.DEFINE_integer("num_classes", 10, "Classes of the fixed net (default: the run "
                          "folder's own, else 10); for report, when given, the classes for the "
                          "child-at-chance check (the search saves them in summary.json).",
                          flag_values=FLAGS)
absl_flags.DEFINE_integer("vocab_size", 10000, "Vocabulary of a language-model space (default: "
                          "the run folder's own, else 10000).", flag_values=FLAGS)
absl_flags.DEFINE_integer("depth", 2, "How many levels of nested layers to list.",
                          flag_values=FLAGS)
absl_flags.DEFINE_list("formats", ["png", "svg", "dot"], "Picture formats to write.",
                       flag_values=FLAGS)
absl_flags.DEFINE_string("output_dir", None, "Folder for what render and report write "
                         "(default: analysis/ inside the run folder or the arch.json's folder; "
                         "the current folder for a token string); rank: folder for rank.json "
                         "and the standalone runs (default RUN_DIR/rank).", flag_values=FLAGS)
absl_flags.DEFINE_string("name", "arch", "File name stem of the pictures.",
                         flag_values=FLAGS)

absl_flags.DEFINE_integer("archs", 8, "rank: distinct architectures to train (K >= 3).",
                          flag_values=FLAGS)
absl_flags.DEFINE_integer("epochs", 2, "rank: standalone training epochs per architecture.",
                          flag_values=FLAGS)
absl_flags.DEFINE_integer("max_steps_per_epoch", 0, "rank: cap on training steps per epoch (0 = "
                          "the search's own setting).", flag_values=FLAGS)
absl_flags.DEFINE_integer("max_eval_batches", 0, "rank: cap on validation batches per "
                          "evaluation (0 = the search's own setting).", flag_values=FLAGS)

absl_flags.DEFINE_string("nb201_table", None, "show/report/naswot: the NAS-Bench-201 CSV "
                         "(index,arch,cifar10_test_acc): true accuracy and percentile of nb201 "
                         "cells.", flag_values=FLAGS)
absl_flags.DEFINE_string("data_path", None, "naswot: CIFAR-10 folder whose training images "
                         "are scored.", flag_values=FLAGS)
absl_flags.DEFINE_integer("cells", 100, "naswot: random cells to score.", lower_bound=1,
                          flag_values=FLAGS)
absl_flags.DEFINE_integer("batch_size", 128, "naswot: images per score (the paper: 128).",
                          lower_bound=2, flag_values=FLAGS)
absl_flags.DEFINE_integer("seed", 0, "naswot: seed of the cells, weights and image batch.",
                          flag_values=FLAGS)

absl_flags.DEFINE_integer("threads", 1, "latency-table: LiteRT interpreter threads.",
                          flag_values=FLAGS)
absl_flags.DEFINE_enum("precision", "float32", ["float32", "int8"], "latency-table: which "
                       "model kind is timed.", flag_values=FLAGS)
absl_flags.DEFINE_integer("runs", 100, "latency-table: timed invocations per model (median of "
                          "each of 3 rounds, the lowest kept).", flag_values=FLAGS)
absl_flags.DEFINE_integer("check_nets", 5, "latency-table: random whole networks timed to "
                          "report the table's prediction error.", flag_values=FLAGS)

GROUPS = (("Input", ("search_for", "set", "nb201_table")),
          ("show (and report's --num_classes)", ("image_size", "num_classes", "vocab_size",
                                                  "depth")),
          ("render, report, rank", ("formats", "output_dir", "name")),
          ("rank", ("archs", "epochs", "max_steps_per_epoch", "max_eval_batches")),
          ("naswot", ("data_path", "cells", "batch_size", "seed")),
          ("latency-table", ("threads", "precision", "runs", "check_nets")))

ANALYSIS_DIR = "analysis"   # where render/report write inside a run folder (never over its files)
COMMANDS = ("show", "render", "diff", "report", "rank", "naswot", "latency-table")
USAGE = ("usage: enas-arch show|render|diff|report|rank|naswot|latency-table SOURCE "
         "[SOURCE_B] (SOURCE: "
         "arch.json, "
         "run folder, or a token string with --search_for)")


def _user_settings() -> dict:
    from enas_tf2.report.arch_loading import parse_settings
    return parse_settings(FLAGS.set)


def _load(source: str):
    """``(space, arch, folder)`` of one SOURCE argument (folder: where it came from, or None)."""
    if not (os.path.exists(source) or FLAGS.search_for):
        raise EnasError(f"{source!r} is neither a file nor a folder; to pass a token string add "
                        f"--search_for=micro (or macro, rnn)")
    import_tensorflow()   # quietly, before any space module pulls it in
    from enas_tf2.report.arch_loading import arch_from_json, arch_from_tokens
    from enas_tf2.report.run_folder import RunFolder, read_json_file
    from enas_tf2.search_space.registry import config_class

    if os.path.isdir(source):
        folder = RunFolder(source, FLAGS.search_for)
        if folder.arch_obj is None:
            raise EnasError(f"{source} holds no arch.json (nor a run_config.json with an arch); "
                            f"has the search finished? `enas-arch report {source}` shows its "
                            f"progress")
        name = folder.arch_obj.get("search_space") or folder.space_name
        if not isinstance(name, str):
            raise EnasError(f"the architecture in {source} has no \"search_space\" field")
        known = {f.name for f in dataclasses.fields(config_class(name))}
        saved = {k: v for k, v in folder.space_settings().items() if k in known}
        space, arch = arch_from_json(folder.arch_obj, {**saved, **_user_settings()},
                                     source=f"the architecture in {source}")
        return space, arch, source
    if os.path.isfile(source):
        obj = read_json_file(source, "architecture file")
        space, arch = arch_from_json(obj, _user_settings(), source=source)
        return space, arch, os.path.dirname(source) or "."
    return (*arch_from_tokens(FLAGS.search_for, source, _user_settings()), None)


def _image_size(source: str):
    """``(H, W)`` for `show`: ``--image_size``, else the size a run folder saved (a final run's
    ``run_config.json``, a search's ``experiment.json``, when it names one), else CIFAR's 32x32."""
    from enas_tf2.configs.base import parse_image_size
    from enas_tf2.report.run_folder import RunFolder

    if FLAGS.image_size is not None:
        size = parse_image_size(FLAGS.image_size)
        if size is None:
            raise EnasError("--image_size must be a size like 224 or 320x160")
        return size
    if os.path.isdir(source):
        data = RunFolder(source, FLAGS.search_for).config.get("data")
        saved = data.get("image_size") if isinstance(data, dict) else None
        if isinstance(saved, (list, tuple)) and len(saved) == 2 and all(
                isinstance(side, int) and side > 0 for side in saved):
            return int(saved[0]), int(saved[1])
    return 32, 32


def _task_size(source: str, key: str) -> int:
    """``--num_classes``/``--vocab_size`` when given, else the run folder's own, else the flag's
    default (CIFAR-10's 10 classes, PTB's 10,000 words)."""
    from enas_tf2.report.run_folder import RunFolder

    if not FLAGS[key].present and os.path.isdir(source):
        saved = RunFolder(source, FLAGS.search_for).task_size(key)
        if saved:
            return saved
    return FLAGS[key].value


def _show(source: str) -> None:
    space, arch, _ = _load(source)
    truth = _truth(space.name)   # a bad table or another space fails before any output
    import numpy as np

    from enas_tf2.report.layer_table import format_layer_table, layer_table
    from enas_tf2.tasks.registry import get_serving

    if FLAGS.num_classes < 1 or FLAGS.depth < 1 or FLAGS.vocab_size < 1:
        raise EnasError("--num_classes, --vocab_size and --depth must be >= 1")
    config = ", ".join(f"{f.name}={getattr(space.config, f.name)}"
                       for f in dataclasses.fields(space.config))
    print(f"search space: {space.name}\ntokens: {arch.tokens()}\n\n{arch.describe()}\n")
    # The facts any task may build its input spec from; the space's task picks what it needs.
    serving = get_serving(space.task)
    spec = serving.input_spec({"image_size": _image_size(source),
                               "num_classes": _task_size(source, "num_classes"),
                               "vocab_size": _task_size(source, "vocab_size")})
    net = space.build_fixed(arch, spec, total_steps=1)
    print(f"fixed net for {serving.describe_spec(spec)} ({space.name} config: {config}):")
    for line in space.describe_stages(spec, fixed=True):
        print(f"  {line}")
    sample = serving.sample_input(spec)
    if sample is not None:
        print()
        print(format_layer_table(layer_table(net, sample, FLAGS.depth, training=False)))
    else:   # several inputs (ids and a state): the layers and their parameters, untraced
        for layer in net._flatten_layers(include_self=False, recursive=False):
            count = sum(int(np.prod(v.shape)) for v in layer.trainable_weights)
            print(f"  {layer.name:30s} {type(layer).__name__:24s} {count:>12,}")
    trainable = sum(int(np.prod(v.shape)) for v in net.trainable_weights)
    total = sum(int(np.prod(v.shape)) for v in net.weights)
    print(f"\nparameters: {trainable:,} trainable ({total:,} weights in all, BatchNorm "
          f"statistics included)")
    cost = _cost_or_none(space, arch, spec)   # what the cost objectives read (issue 22)
    if cost is not None:
        print(f"cost: {cost.params:,} parameters, {cost.macs / 1e6:.3f} M multiply-adds per "
              f"image (inference network, docs/deploy.md)")
    if truth is not None:
        block = truth(arch)
        print(f"true CIFAR-10 accuracy (NAS-Bench-201): {block['cifar10_test_acc']:.2f}% "
              f"(percentile {block['percentile']:.1f} of 15,625, rank {block['rank']}, benchmark "
              f"index {block['index']})")


def _cost_or_none(space, arch, spec):
    """The `ArchCost` of the fixed net, or None for a space without costs (the RNN cell)."""
    try:
        return space.arch_cost(arch, spec)
    except EnasError:
        return None


def _truth(space_name):
    """`Nb201Table.truth` when ``--nb201_table`` was given (EnasError for another space)."""
    if not FLAGS.nb201_table:
        return None
    from enas_tf2.ranking.nb201_runs import require_nb201
    from enas_tf2.ranking.nb201_table import load_table
    require_nb201(space_name)
    return load_table(FLAGS.nb201_table).truth


def _render(source: str) -> None:
    from enas_tf2.render import render_arch_files

    _, arch, folder = _load(source)
    directory = FLAGS.output_dir or (os.path.join(folder, ANALYSIS_DIR) if folder else ".")
    for path in render_arch_files(arch, directory, FLAGS.name, FLAGS.formats).values():
        print(f"wrote {path}")


def _diff(source_a: str, source_b: str) -> int:
    from enas_tf2.report.arch_diff import arch_diff

    _, a, _ = _load(source_a)
    _, b, _ = _load(source_b)
    text, same = arch_diff(a, b, source_a, source_b)
    print(text)
    return 0 if same else 1


def _report(run_dir: str) -> None:
    from enas_tf2.report import write_search_outputs

    if not os.path.isdir(run_dir):
        raise EnasError(f"run folder {run_dir} does not exist or is not a folder")
    import_tensorflow()
    task = {"num_classes": FLAGS.num_classes} if FLAGS["num_classes"].present else None
    out_dir = FLAGS.output_dir or os.path.join(run_dir, ANALYSIS_DIR)
    truth = None
    if FLAGS.nb201_table:
        from enas_tf2.report.run_folder import RunFolder
        truth = _truth(RunFolder(run_dir, FLAGS.search_for).space_name)
    warnings = write_search_outputs(run_dir, FLAGS.search_for, task, log=False, out_dir=out_dir,
                                    truth=truth)
    if truth is not None:
        from enas_tf2.report.run_folder import read_json_file
        summary = read_json_file(os.path.join(out_dir, "summary.json"), "summary") or {}
        best = (summary.get("true_accuracy") or {}).get("best")
        if best:
            print(f"true CIFAR-10 accuracy of the derived cell: {best['cifar10_test_acc']:.2f}% "
                  f"(percentile {best['percentile']:.1f} of 15,625)")
    for name in ("arch.png", "arch.svg", "summary.json", "report.html"):
        if os.path.exists(os.path.join(out_dir, name)):
            print(f"wrote {os.path.join(out_dir, name)}")
    for warning in warnings:
        print(f"warning: {warning.message}", file=sys.stderr)


def _rank(run_dir: str) -> None:
    if not os.path.isdir(run_dir):
        raise EnasError(f"run folder {run_dir} does not exist or is not a folder")
    import_tensorflow()
    from enas_tf2.ranking.rank_study import RankStudy

    out_dir = FLAGS.output_dir or os.path.join(run_dir, "rank")
    result = RankStudy(run_dir, FLAGS.archs, FLAGS.epochs, FLAGS.max_steps_per_epoch,
                       FLAGS.max_eval_batches, out_dir=out_dir).run()
    score = result["score"]
    print(f"{'shared reward':>13}  {'standalone ' + score:>20}  tokens")
    for row in result["rows"]:
        print(f"{row['shared_reward']:13.4f}  {row['standalone_valid']:20.4f}  {row['tokens']}")
    print(f"Kendall tau {result['kendall_tau']:+.3f} over {result['num_archs']} architectures "
          f"(p ~ {result['p_value_normal_approx']:.2f}, normal approximation); wrote "
          f"{os.path.join(out_dir, 'rank.json')}")


def _naswot() -> None:
    if not FLAGS.data_path:
        raise EnasError("enas-arch naswot needs --data_path (a CIFAR-10 folder)")
    import_tensorflow()
    from enas_tf2 import api
    result = api.naswot(FLAGS.data_path, FLAGS.cells, FLAGS.seed, FLAGS.batch_size,
                        FLAGS.nb201_table, output_dir=FLAGS.output_dir)
    best = result["best"]
    print(f"NASWOT best of {FLAGS.cells} random nb201 cells: score {best['score']:.2f}  "
          f"{best['tokens']}")
    if "cifar10_test_acc" in best:
        print(f"true CIFAR-10 accuracy: {best['cifar10_test_acc']:.2f}% (percentile "
              f"{best['percentile']:.1f} of 15,625, benchmark index {best['index']})")


def main(argv):
    if len(argv) >= 2 and argv[1] == "naswot":
        if len(argv) > 2:
            raise EnasError("enas-arch naswot takes no SOURCE argument (flags only)")
        _naswot()
        return 0
    if len(argv) < 2 or argv[1] not in COMMANDS:
        got = f" (got {argv[1]!r})" if len(argv) > 1 else ""
        raise EnasError(USAGE + got)
    command, args = argv[1], argv[2:]
    if command in ("show", "render") and FLAGS.search_for and len(args) > 1:
        args = [" ".join(args)]  # an unquoted token string arrives as many arguments
    wanted = 2 if command == "diff" else 1
    if len(args) != wanted:
        raise EnasError(f"enas-arch {command} takes {wanted} SOURCE argument(s), got {len(args)}; "
                        f"quote each token string")
    if command == "show":
        _show(args[0])
    elif command == "render":
        _render(args[0])
    elif command == "diff":
        return _diff(*args)
    elif command == "rank":
        _rank(args[0])
    elif command == "latency-table":
        from enas_tf2.cli.latency_table_cmd import latency_table_command
        latency_table_command(FLAGS, args[0])
    else:
        _report(args[0])
    return 0


def run(argv=None):
    """Console-script entry point (``enas-arch``)."""
    run_main(main, FLAGS, __doc__, GROUPS, positional=True, argv=argv)


if __name__ == "__main__":
    run()
