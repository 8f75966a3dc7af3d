"""`RunLock`: one process at a time per run folder.

Two processes resuming the same ``--output_dir`` would both restore the same checkpoint, train the
same epochs and write every log line and progress row twice. The chief therefore holds
``OUTPUT_DIR/run.lock``, a small JSON file naming the holder (pid, host, process start time, the
command). A second process is refused with one line naming the holder. A lock left behind by a
killed run is stale when its pid is no longer alive on this host (or is alive but is another
process: its start time differs, the pid was reused); a stale lock is taken over and the takeover is
logged. TensorFlow-free.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
import time
from typing import Optional

from enas_tf2.errors import EnasError

LOCK_FILE = "run.lock"
# Lock files this process holds now: a lock naming this process that is not in here was left by
# an earlier run in this process whose folder could not be written when it ended.
_HELD = set()


def process_start_ticks(pid: int) -> Optional[int]:
    """Start time of process `pid` in clock ticks since boot (``/proc/PID/stat`` field 22), or
    None where /proc is unavailable. With the pid it identifies one process for good."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            text = f.read().decode(errors="replace")
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after its end.
    fields = text[text.rfind(")") + 2:].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host (signal 0 probes without sending)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:       # exists, owned by another user
        return True
    return True


def describe_holder(info: dict) -> str:
    """``pid 123 on host h (started 2024-01-01 12:00:00: enas-cnn --output_dir=...)``."""
    started = info.get("started")
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)) if started else "?"
    command = info.get("command") or ""
    if len(command) > 120:
        command = command[:117] + "..."
    return (f"pid {info.get('pid', '?')} on host {info.get('host', '?')} (started {when}"
            + (f": {command}" if command else "") + ")")


class RunLock:
    """The lock of one run folder, held by the chief for the whole run.

    Args:
      output_dir: the run folder (must exist).

    `acquire()` takes it (or raises EnasError naming the running holder); `release()` removes it
    if this process still holds it. `took_over` describes a stale lock that was replaced (None if
    there was none), for the run log.
    """

    def __init__(self, output_dir: str):
        self.path = os.path.join(output_dir, LOCK_FILE)
        self.held = False
        self.took_over: Optional[str] = None

    def _own_info(self) -> dict:
        pid = os.getpid()
        return {"pid": pid, "host": socket.gethostname(), "start_ticks": process_start_ticks(pid),
                "started": time.time(), "command": " ".join(
                    [os.path.basename(sys.argv[0])] + sys.argv[1:]) if sys.argv else ""}

    def _read(self) -> Optional[dict]:
        try:
            with open(self.path, encoding="utf-8") as f:
                info = json.load(f)
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}          # unreadable or torn (killed mid-write): treated as stale
        return info if isinstance(info, dict) else {}

    def is_stale(self, info: dict) -> bool:
        """True when the holder of `info` is certainly not running (same host only)."""
        if not info or "pid" not in info:
            return True
        if info.get("host") != socket.gethostname():
            return False       # cannot see another host's processes: assume it runs
        pid = int(info["pid"])
        if pid == os.getpid():
            return (os.path.realpath(self.path) not in _HELD
                    or info.get("start_ticks") != process_start_ticks(pid))
        if not pid_alive(pid):
            return True
        recorded, current = info.get("start_ticks"), process_start_ticks(pid)
        return recorded is not None and current is not None and recorded != current

    def acquire(self) -> None:
        """Creates the lock file atomically; takes over a stale one; EnasError if held."""
        for _ in range(5):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                info = self._read()
                if info is None:
                    continue       # released between our two calls: try again
                if not self.is_stale(info):
                    raise EnasError(
                        f"--output_dir {os.path.dirname(self.path)} is in use by another run: "
                        f"{describe_holder(info)}; wait for it to finish or stop it, or use "
                        f"another --output_dir (if that process is gone, delete {self.path})")
                self._take_over(info)
                continue
            except OSError as err:
                raise EnasError(f"cannot create the run lock {self.path}: "
                                f"{err.strerror or err}; is --output_dir writable?") from None
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(self._own_info(), f)
            self.held = True
            _HELD.add(os.path.realpath(self.path))
            return
        raise EnasError(f"could not take the run lock {self.path}: another process keeps "
                        f"creating it; is a second run starting on the same --output_dir?")

    def _take_over(self, info: dict) -> None:
        """Moves a stale lock aside. The rename is atomic: of two processes taking over the same
        stale lock, one rename succeeds and the other sees the file gone and retries."""
        aside = f"{self.path}.stale-{os.getpid()}"
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return
        try:
            os.remove(aside)
        except OSError:
            pass
        self.took_over = (describe_holder(info) if info else "an unreadable lock file")

    def release(self) -> None:
        """Removes the lock if this process holds it (a folder deleted meanwhile is fine)."""
        if not self.held:
            return
        self.held = False
        _HELD.discard(os.path.realpath(self.path))
        info = self._read()
        if info and info.get("pid") == os.getpid():
            try:
                os.remove(self.path)
            except OSError as err:
                if err.errno not in (errno.ENOENT, errno.EROFS, errno.EACCES):
                    raise
