"""How the step benchmarks are measured: machine load, and executed kernels per step.

Used by `child_step.py`, `macro_child_step.py`, `rnn_step.py` and `op_profile.py`.

* `wait_for_quiet_machine` waits (bounded) until the 1-minute load average drops below a
  threshold before anything is timed, and says so when it gave up: wall-clock ratios taken while
  other jobs share the 2 cores are noisy, so a RESULT line carries ``load_start``.
* `count_node_visits` counts, exactly, the nodes TensorFlow's executor processes in one step
  (every kernel, control-flow node, function argument/return and untaken-branch node it visits
  as dead), by re-running the benchmark in a subprocess with the executor's per-node log on
  (``TF_CPP_VMODULE=executor=1``) and counting the log lines of one marked step. The counts do
  not depend on the machine or its load; the logging makes that subprocess slow.
* `profile_ops` runs a step under the TensorFlow profiler (`tf.profiler.experimental`) and
  counts the kernels the executor ran, by op type, with their summed kernel time. The count is a
  hardware-independent figure (the same graph runs the same kernels on any CPU and any load);
  the times are only comparable within one run.
"""

from __future__ import annotations

import collections
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import tensorflow as tf

try:   # the proto's module moved between TF releases
    from tensorflow.tsl.profiler.protobuf import xplane_pb2
except ImportError:   # pragma: no cover
    from tsl.profiler.protobuf import xplane_pb2

QUIET_LOAD = 0.7
COUNT_FLAG = "--count_nodes_only"   # the subprocess mode of a benchmark script
_MARK = "ENAS_NODE_COUNT"
_NODE_LINE = re.compile(r"Process node: \d+ step -?\d+ \{\{node [^}]*\}\} = ([A-Za-z0-9_]+)")


def add_load_flags(parser):
    """The ``--max_wait_min`` and ``--quiet_load`` flags every step benchmark takes."""
    parser.add_argument("--max_wait_min", type=float, default=10.0,
                        help="wait at most this long for a quiet machine before timing (0: don't)")
    parser.add_argument("--quiet_load", type=float, default=QUIET_LOAD,
                        help="1-minute load average counted as quiet")


def load_text() -> str:
    """The three load averages as printed by uptime."""
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


def wait_for_quiet_machine(max_wait_min: float, threshold: float = QUIET_LOAD) -> float:
    """Waits until the 1-minute load average is below ``threshold`` (at most ``max_wait_min``);
    prints what happened and returns the 1-minute load average when timing starts."""
    print(f"load average at start: {load_text()}", flush=True)
    deadline = time.monotonic() + 60.0 * max_wait_min
    while os.getloadavg()[0] >= threshold and time.monotonic() < deadline:
        time.sleep(5.0)
    load = os.getloadavg()[0]
    if load >= threshold:
        print(f"gave up waiting for a quiet machine after {max_wait_min:g} min: timing at "
              f"1-minute load {load:.2f} (threshold {threshold:g})", flush=True)
    else:
        print(f"machine quiet (1-minute load {load:.2f} < {threshold:g}); timing", flush=True)
    return round(load, 2)


def _kernel_name(name: str):
    """``node:OpType`` events are kernels; executor/threadpool bookkeeping has other names."""
    if ":" not in name or "::" in name:
        return None
    op_type = name.rsplit(":", 1)[1]
    return op_type if op_type.replace("_", "").isalnum() else None


def profile_ops(fn, args, steps: int = 3):
    """Kernels executed per call of ``fn(*args)`` by op type: ``{op_type: (count, ms)}``.

    ``fn`` must already be traced and run once (no tracing or first-run work in the profile).
    ``count`` is per call (total / steps, exact for a graph without data-dependent loops);
    ``ms`` is the summed kernel time per call, including time inside nested function calls.
    """
    logdir = tempfile.mkdtemp(prefix="enas_profile_")
    try:
        tf.profiler.experimental.start(logdir)
        for _ in range(steps):
            result = fn(*args)
        if hasattr(result, "numpy"):
            result.numpy()
        tf.profiler.experimental.stop()
        path = sorted(glob.glob(os.path.join(logdir, "plugins", "profile", "*",
                                             "*.xplane.pb")))[-1]
        space = xplane_pb2.XSpace()
        with open(path, "rb") as f:
            space.ParseFromString(f.read())
    finally:
        shutil.rmtree(logdir, ignore_errors=True)
    counts, picos = collections.Counter(), collections.Counter()
    for plane in space.planes:
        if not plane.name.startswith("/host:CPU"):
            continue
        names = {key: meta.name for key, meta in plane.event_metadata.items()}
        # Every line: with one inter-op thread, kernels also run on the calling ("python") thread.
        for line in plane.lines:
            for event in line.events:
                op_type = _kernel_name(names.get(event.metadata_id, ""))
                if op_type is not None:
                    counts[op_type] += 1
                    picos[op_type] += event.duration_ps
    return {op: (counts[op] / steps, picos[op] / 1e9 / steps) for op in counts}


def total_ops(profile) -> int:
    """Executed kernels per call of a `profile_ops` result."""
    return round(sum(count for count, _ in profile.values()))


def print_op_table(shared, static, top: int = 25, names=("shared", "static"), by_count=False):
    """``{op: (count, ms)}`` tables side by side, op types sorted by how much more time (or,
    ``by_count``, how many more executions) the first spends on them than the second."""
    ops = set(shared) | set(static)
    rows = []
    for op in ops:
        a, b = shared.get(op, (0, 0.0)), static.get(op, (0, 0.0))
        rows.append((a[0] - b[0] if by_count else a[1] - b[1], op, a, b))
    rows.sort(key=lambda r: (-abs(r[0]), r[1]))
    print(f"{'op type':<34} {names[0] + ' n':>9} {names[1] + ' n':>9} {names[0] + ' ms':>10} "
          f"{names[1] + ' ms':>10} {'diff ms':>8}")
    for diff, op, a, b in rows[:top]:
        print(f"{op:<34} {a[0]:>9.0f} {b[0]:>9.0f} {a[1]:>10.1f} {b[1]:>10.1f} {diff:>8.1f}")
    ta, tb = total_ops(shared), total_ops(static)
    ma, mb = sum(v[1] for v in shared.values()), sum(v[1] for v in static.values())
    print(f"{'total':<34} {ta:>9d} {tb:>9d} {ma:>10.1f} {mb:>10.1f} {ma - mb:>8.1f}")


def run_marked_steps(steps):
    """In a benchmark's `COUNT_FLAG` subprocess: runs each ``name -> step()`` twice (trace,
    first run) and once more between markers on stderr, which `count_node_visits` reads."""
    for name, step in steps.items():
        for _ in range(2):
            _result_numpy(step())
        print(f"{_MARK} start {name}", file=sys.stderr, flush=True)
        _result_numpy(step())
        print(f"{_MARK} end {name}", file=sys.stderr, flush=True)


def _result_numpy(result):
    return result.numpy() if hasattr(result, "numpy") else result


def count_node_visits(script: str, argv) -> dict:
    """``{name: {"nodes": visits, "live": visits not dead, "ops": Counter of live op types}}``
    for one step of each model ``script`` runs with `run_marked_steps` under `COUNT_FLAG`
    (None, with a message, when the subprocess fails)."""
    env = dict(os.environ, TF_CPP_VMODULE="executor=1", TF_CPP_MIN_LOG_LEVEL="0")
    proc = subprocess.Popen([sys.executable, script, COUNT_FLAG] + list(argv), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    counts, current = {}, None
    for line in proc.stderr:
        if line.startswith(_MARK):
            _, what, name = line.split()
            current = name if what == "start" else None
            if current is not None:
                counts[name] = {"nodes": 0, "live": 0, "ops": collections.Counter()}
            continue
        if current is None or "Process node:" not in line:
            continue
        match = _NODE_LINE.search(line)
        counts[current]["nodes"] += 1
        if match and " is dead device: " not in line:
            counts[current]["live"] += 1
            counts[current]["ops"][match.group(1)] += 1
    if proc.wait() != 0 or not counts:
        # The timing already happened: report it without the counts rather than fail.
        print(f"node-count subprocess of {script} failed (exit {proc.returncode}); no op "
              f"counts", flush=True)
        return None
    return counts
