"""The one entry path of every console script: flag parsing, help, quiet start-up, clean errors.

`run_main(main, flags=..., doc=...)` runs a tool's `main` so that:

* ``--help`` prints the tool's description and its OWN flags grouped by purpose, exit 0
  (``--helpfull`` adds absl's logging flags);
* a bad flag value, an `EnasError` (missing file, malformed architecture, NaN loss, ...) and the
  few TensorFlow errors users cause (corrupt data, out of memory) print ONE ``error: ...`` line
  on stderr and exit with status 2, without a stack trace; anything else is a bug and keeps its
  traceback;
* TensorFlow's C++ start-up lines (CUDA probing on CPU hosts, oneDNN notices) do not bury the
  tool's own messages: `import_tensorflow` loads TensorFlow with stderr muted unless
  ``--verbosity`` is given.
"""

from __future__ import annotations

import errno
import os
import sys
import textwrap
from typing import Callable, Optional, Sequence, Tuple

from absl import app
from absl import flags as absl_flags
from absl import logging as absl_logging

from enas_tf2.errors import EnasError

# Keep TensorFlow's C++ logging to errors (must be set before TensorFlow loads).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# TF 2.21 enables its oneDNN CPU kernels by default only on AVX-512-class CPUs; on AVX2 hosts they
# make the child's convolutions, BN and pooling 2-3x faster (bench/README.md, "oneDNN"). Their
# rounding can differ between two runs, so ``--deterministic`` turns them off.
_DETERMINISTIC = any(a in ("--deterministic", "--deterministic=true", "--deterministic=True")
                     for a in sys.argv[1:])
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0" if _DETERMINISTIC else "1")
if _DETERMINISTIC:
    # Measured (bench/kill_resume.py): with op determinism and oneDNN off, two identical runs
    # still differed in the last bits of the controller's weights unless independent ops run
    # one at a time.
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")

# TensorFlow errors a user can cause, with what to tell them. Matched by class name so that this
# module does not import TensorFlow (``--help`` stays fast).
_TF_ERRORS = {
    "DataLossError": "corrupt or truncated data file",
    "ResourceExhaustedError": "out of memory; lower --batch_size or --image_size (--dry_run "
                              "names a batch size that fits)",
    # A multi-worker peer that died: the collective ops of the others fail (after the
    # coordination service's heartbeat timeout) instead of waiting forever.
    "UnavailableError": "a worker of the cluster stopped or cannot be reached; the last "
                        "checkpoint is kept: restart every worker with the same command to resume",
    "AbortedError": "the cluster aborted the step (a worker stopped?); the last checkpoint is "
                    "kept: restart every worker with the same command to resume",
}
_DISK_FULL = ("no space left on device", "disk quota exceeded")


def explain_exception(err: BaseException) -> Optional[str]:
    """The one-line text for an exception a user (or their machine) caused, or None for a bug.
    Matched without importing TensorFlow."""
    first = _first_line(err)
    if isinstance(err, MemoryError):
        return ("out of memory; lower --batch_size or --image_size (--dry_run names a batch "
                "size that fits)")
    if isinstance(err, OSError) and not type(err).__module__.startswith("tensorflow"):
        if err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            return f"disk full writing {err.filename or 'a file'}: free space and rerun to resume"
        if err.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return f"cannot write {err.filename or 'a file'}: {err.strerror}"
        return None
    if not type(err).__module__.startswith("tensorflow"):
        return None
    if any(text in first.lower() for text in _DISK_FULL):
        return f"disk full: {first}; free space and rerun to resume"
    hint = _TF_ERRORS.get(type(err).__name__)
    return f"{hint}: {first}" if hint else None
_HELP_ARGS = {"-h", "-?", "--help", "--helpshort"}
HelpGroups = Sequence[Tuple[str, Sequence[str]]]


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def _verbose() -> bool:
    return any(a.startswith(("--verbosity", "-v=")) for a in sys.argv[1:])


def import_tensorflow():
    """Imports TensorFlow with its C++ start-up lines muted unless ``--verbosity`` was given
    (`quiet_import`). Returns the module.

    ``--deterministic`` also turns oneDNN's custom CPU kernels off (``TF_ENABLE_ONEDNN_OPTS=0``,
    set when this module loads, before TensorFlow): measured with bench/kill_resume.py, two
    identical runs with them on differ in the last bits of the controller's weights."""
    from enas_tf2.quiet_import import import_tensorflow as quiet
    return quiet(show_startup=_verbose())


def setup_progress_logging() -> None:
    """Timestamped enas_tf2 progress lines on stderr (TensorFlow's INFO lines stay hidden)."""
    from enas_tf2.progress import show_progress
    show_progress(sys.stderr, propagate=False)
    # absl's default verbosity is INFO, which lets TensorFlow's checkpoint INFO lines through.
    absl_logging.set_verbosity(absl_logging.WARNING)


def format_help(doc: str, flag_values, groups: Optional[HelpGroups]) -> str:
    """The tool's description and its flags, under the group titles of `groups` (flags of
    `flag_values` not named in any group are listed last under "Other")."""
    lines = [doc.strip(), ""]
    named = [n for _, names in (groups or ()) for n in names]
    own = [n for n in flag_values if n == flag_values[n].name and n not in named
           and _is_own(flag_values, n)]
    for title, names in list(groups or ()) + ([("Other", own)] if own else []):
        lines.append(f"{title}:")
        for name in names:
            flag = flag_values[name]
            default = "" if flag.default in (None, "") else f" (default: {flag.default_as_str})"
            lines.append(f"  --{name}{default}")
            lines.extend(textwrap.wrap(flag.help, 96, initial_indent="      ",
                                       subsequent_indent="      "))
        lines.append("")
    lines.append("--helpfull lists absl's logging flags too.")
    return "\n".join(lines)


def _is_own(flag_values, name: str) -> bool:
    """True for flags the enas_tf2 tool defined (not absl's logging/help flags)."""
    module = flag_values.find_module_defining_flag(name, default="")
    return module.startswith("enas_tf2") or module == "__main__"


def make_flags_parser(flag_values, doc: str, groups: Optional[HelpGroups]) -> Callable:
    """An absl ``flags_parser`` for `flag_values` (the global FLAGS or a tool's private set):
    grouped ``--help``, and flag errors as one ``error:`` line with exit status 2."""

    def parse(argv):
        if _HELP_ARGS.intersection(argv[1:]) or "--helpfull" in argv[1:]:
            text = format_help(doc, flag_values, groups)
            if "--helpfull" in argv[1:]:
                text += "\n\nabsl flags:\n" + absl_flags.FLAGS.module_help("absl.logging")
            try:
                print(text)
            except BrokenPipeError:   # `--help | head`
                pass
            sys.exit(0)
        flag_values.unparse_flags()   # start from the defaults when run twice in one process
        try:
            rest = flag_values(argv)
        except absl_flags.Error as err:
            print(f"error: {err}", file=sys.stderr)
            sys.exit(2)
        if flag_values is not absl_flags.FLAGS:
            absl_flags.FLAGS(argv[:1])   # absl.app insists that its global flags are parsed
        return rest

    return parse


def run_main(main, flag_values=None, doc: str = "", groups: Optional[HelpGroups] = None,
             positional: bool = False, argv: Optional[list] = None, interrupted: str = "interrupted; checkpoints already saved are kept (rerun to "
                                "resume)") -> None:
    """`absl.app.run(main)` with grouped help, quiet start-up and one-line user errors.

    Args:
      main: ``main(argv)``.
      flag_values: the tool's flags (default: absl's global FLAGS).
      doc: the tool's description for ``--help`` (its module docstring).
      groups: ``[(title, [flag names])]`` for ``--help``.
      positional: whether the tool takes positional arguments (else they are refused).
      argv: the command line (default: ``sys.argv``).
      interrupted: what Ctrl-C prints (exit status 130).
    """
    flag_values = absl_flags.FLAGS if flag_values is None else flag_values

    def wrapped(argv):
        setup_progress_logging()
        try:
            if len(argv) > 1 and not positional:
                raise EnasError(f"unexpected arguments: {' '.join(argv[1:])} (flags are "
                                f"written --name=value; see --help)")
            return main(argv)
        except EnasError as err:
            print(f"error: {err}", file=sys.stderr)
            sys.exit(2)
        except KeyboardInterrupt:
            print(f"error: {interrupted}", file=sys.stderr)
            sys.exit(130)
        except Exception as err:  # pylint: disable=broad-except
            text = explain_exception(err)
            if text is None:
                raise
            print(f"error: {text}", file=sys.stderr)
            sys.exit(2)

    app.run(wrapped, argv=argv, flags_parser=make_flags_parser(flag_values, doc, groups))
