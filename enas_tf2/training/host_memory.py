"""What this process uses and what the machine can still give it, in bytes (Linux /proc and
cgroups; TensorFlow-free).

The pre-flight compares a run's projected peak resident memory with `memory_limit()`: the
resident memory this process has now plus what the kernel reports it could still hand out
(``MemAvailable``), capped by a cgroup (container) limit when there is one.
"""

from __future__ import annotations

import resource
from typing import Optional

GIB = float(1 << 30)


def _status_kib(key: str) -> Optional[int]:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def current_rss() -> int:
    """Resident set size of this process now."""
    kib = _status_kib("VmRSS")
    if kib is not None:
        return kib * 1024
    return peak_rss()


def peak_rss() -> int:
    """High-water mark of this process's resident set (VmHWM; ru_maxrss where /proc is absent)."""
    kib = _status_kib("VmHWM")
    if kib is None:
        kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(kib) * 1024


def reset_peak_rss() -> bool:
    """Restarts VmHWM at the current RSS (Linux >= 4.0: write 5 to clear_refs); False if the
    kernel refuses, then the peak keeps counting from the process start."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def mem_available() -> Optional[int]:
    """``MemAvailable`` of /proc/meminfo (what can be allocated without swapping), or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _read_int(path: str) -> Optional[int]:
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return None
    if not text or text == "max":
        return None
    try:
        return int(text)
    except ValueError:
        return None


def cgroup_headroom() -> Optional[int]:
    """Bytes this container may still allocate under its cgroup memory limit, or None when
    there is no limit (cgroup v2 ``memory.max``, v1 ``memory.limit_in_bytes``)."""
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        limit = _read_int(limit_file)
        if limit is None or limit >= 1 << 60:     # v1 reports "no limit" as a huge number
            continue
        usage = _read_int(usage_file) or 0
        return max(0, limit - usage)
    return None


def memory_limit() -> Optional[int]:
    """The largest resident size this process can reach now: its RSS plus the memory the host
    (and its cgroup) can still give; None when unknown (not Linux)."""
    available = mem_available()
    headroom = cgroup_headroom()
    if available is None and headroom is None:
        return None
    free = min(v for v in (available, headroom) if v is not None)
    return current_rss() + free


def gib(num_bytes: float) -> str:
    """``1.23 GiB``."""
    return f"{num_bytes / GIB:.2f} GiB"


def describe_limit() -> str:
    """Where the limit comes from, for messages."""
    return "cgroup limit" if cgroup_headroom() is not None else "MemAvailable"

