"""Bad inputs, as a user meets them from the command line: every case ends with ONE ``error:``
line naming the problem (and what to do), exit status 2, no TensorFlow stack trace, and nothing
already saved is lost. The README's "Bad inputs" table lists the same cases (`bad_input_cases`).

Each case runs the console script in a fresh process (`cli_runner.run_cli`). Data comes from the
real CIFAR-10 subset and the real flower photos; the broken variants are made from them.
"""

import hashlib
import json
import os
import re

import pytest

from bad_input_cases import CASES, Env
from cli_runner import error_lines, run_cli


@pytest.fixture(scope="module")
def env(tmp_path_factory, cifar10_dir, flowers_dir):
    return Env(tmp_path_factory.mktemp("bad_inputs"), cifar10_dir, flowers_dir)


def _digest(folder):
    """Content hash of every file under `folder` (nothing saved may change)."""
    digest = hashlib.sha256()
    for base, dirs, files in sorted(os.walk(folder)):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(base, name)
            digest.update(path.encode())
            with open(path, "rb") as f:
                digest.update(f.read())
    return digest.hexdigest()


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2(env, case):
    _, tool, setup, message = case
    args, extra_env, keep = setup(env)
    before = _digest(keep) if keep and os.path.isdir(keep) else None
    try:
        proc = run_cli(tool, args, env=extra_env, timeout=300)
    finally:
        for undo in env.cleanups:
            undo()
        env.cleanups = []
    lines = error_lines(proc)
    if os.environ.get("ENAS_BAD_INPUTS_LOG"):     # collects the messages for the README table
        with open(os.environ["ENAS_BAD_INPUTS_LOG"], "a") as f:
            f.write(json.dumps({"case": case[0], "tool": tool, "code": proc.returncode,
                                "lines": lines}) + "\n")
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert len(lines) == 1, proc.stderr[-3000:]
    assert re.search(message, lines[0]), lines[0]
    assert "Traceback" not in proc.stderr and "tensorflow/python" not in proc.stderr
    if before is not None:
        assert _digest(keep) == before, "a refused run changed the saved run folder"
