"""What this process uses and what the machine can still give it, in bytes (Linux /proc and
cgroups; TensorFlow-free).

The pre-flight compares a run's projected peak resident memory with `memory_limit()`: the
resident memory this process has now plus what the kernel reports it could still hand out
(``MemAvailable``), capped by a cgroup (container) limit when there is one.
"""

from __future__ import annotations

import resource
from typing import Optional, Tuple

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


def _cgroup_files():
    """(limit file, usage file) candidates: this process's own cgroup (from /proc/self/cgroup)
    first, then the root of the mounted hierarchy (a container's view)."""
    own_v1 = own_v2 = ""
    try:
        with open("/proc/self/cgroup") as f:
            for line in f:
                parts = line.strip().split(":", 2)
                if len(parts) == 3 and "memory" in parts[1].split(","):
                    own_v1 = parts[2]
                elif len(parts) == 3 and parts[0] == "0" and not parts[1]:
                    own_v2 = parts[2]
    except OSError:
        pass
    v1, v2 = "/sys/fs/cgroup/memory", "/sys/fs/cgroup"
    return [(f"{v2}{own_v2}/memory.max", f"{v2}{own_v2}/memory.current"),
            (f"{v1}{own_v1}/memory.limit_in_bytes", f"{v1}{own_v1}/memory.usage_in_bytes"),
            (f"{v2}/memory.max", f"{v2}/memory.current"),
            (f"{v1}/memory.limit_in_bytes", f"{v1}/memory.usage_in_bytes")]


def cgroup_headroom() -> Optional[int]:
    """Bytes this process's cgroup (container) may still allocate under its memory limit, or
    None when there is no limit (cgroup v2 ``memory.max``, v1 ``memory.limit_in_bytes``)."""
    for limit_file, usage_file in _cgroup_files():
        limit = _read_int(limit_file)
        if limit is None or limit >= 1 << 60:     # v1 reports "no limit" as a huge number
            continue
        usage = _read_int(usage_file) or 0
        return max(0, limit - usage)
    return None


def memory_limit(cap_bytes: int = 0) -> Tuple[Optional[int], str]:
    """``(bytes, source)``: the largest resident size this process can reach now (its RSS plus
    what the host and its cgroup can still give) and where that figure comes from; `cap_bytes`
    (> 0, ``--memory_limit_gb``) lowers it. ``(None, "unknown")`` when nothing is known."""
    candidates = []
    available = mem_available()
    if available is not None:
        candidates.append((current_rss() + available, "MemAvailable"))
    headroom = cgroup_headroom()
    if headroom is not None:
        candidates.append((current_rss() + headroom, "cgroup limit"))
    if cap_bytes > 0:
        candidates.append((int(cap_bytes), "--memory_limit_gb"))
    if not candidates:
        return None, "unknown"
    return min(candidates)


def gib(num_bytes: float) -> str:
    """``1.23 GiB``."""
    return f"{num_bytes / GIB:.2f} GiB"
