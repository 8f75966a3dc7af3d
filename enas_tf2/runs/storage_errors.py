"""One line for a write that failed during a run (disk full, run folder read-only, deleted) and for
a multi-worker peer that stopped.

`explain_storage_error` turns the `OSError` of a Python write (log, JSON file) or the
`tf.errors.OpError` of a checkpoint save into an `EnasError` that names the cause, the run folder,
the checkpoint that is kept and what to do. TensorFlow is not imported: its errors are recognised
by their message and ``errno``-like text.
"""

from __future__ import annotations

import errno
import os
import re
from typing import Optional

from enas_tf2.errors import EnasError

_NO_SPACE = ("no space left on device", "disk quota exceeded", "file too large")
_READ_ONLY = ("read-only file system", "permission denied")


def storage_cause(err: BaseException, output_dir: str) -> Optional[str]:
    """``"disk full"``, ``"read-only"``, ``"deleted"`` or None (not a storage problem)."""
    code = getattr(err, "errno", None)
    text = (getattr(err, "message", None) or str(err)).lower()
    if code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG) or any(s in text for s in _NO_SPACE):
        return "disk full"
    if not os.path.isdir(output_dir):
        return "deleted"
    if code in (errno.EROFS, errno.EACCES, errno.EPERM) or any(s in text for s in _READ_ONLY):
        return "read-only"
    if code == errno.ENOENT or "no such file or directory" in text:
        return "deleted"
    return None


def _kept_text(kept: Optional[str]) -> str:
    if kept:
        return f"the last checkpoint {kept} is kept and loadable"
    return "no checkpoint had been saved yet"


def explain_storage_error(err: BaseException, output_dir: str, kept: Optional[str],
                          doing: str = "writing") -> BaseException:
    """The EnasError for a failed write while `doing` (e.g. "saving checkpoint 3") in the run
    folder `output_dir`; `err` itself when it is not a storage problem."""
    cause = storage_cause(err, output_dir)
    if cause is None:
        return err
    where = getattr(err, "filename", None) or output_dir
    if cause == "disk full":
        return EnasError(f"disk full while {doing} in {where}: stopped; {_kept_text(kept)}. Free "
                         f"space (or use an --output_dir on a larger disk) and rerun the same "
                         f"command to resume")
    if cause == "read-only":
        return EnasError(f"the run folder {output_dir} became read-only (error while {doing}): "
                         f"stopped; {_kept_text(kept)}. Make it writable and rerun the same "
                         f"command to resume")
    return EnasError(f"the run folder {output_dir} was deleted during the run (error while "
                     f"{doing}): stopped; its checkpoints went with it. Rerun to start over, or "
                     f"restore the folder and rerun to resume")


def lost_worker_error(err: BaseException, kept: Optional[str]) -> EnasError:
    """The EnasError of a multi-worker run whose collective step failed because a peer stopped
    (TensorFlow's coordination service reports the tasks that stopped sending heartbeats)."""
    text = getattr(err, "message", None) or str(err)
    tasks = sorted(set(re.findall(r"/job:(\w+)/replica:\d+/task:(\d+)", text)))
    who = ", ".join(f"{job} {index}" for job, index in tasks) or "a worker"
    return EnasError(f"{who} of the cluster stopped (no heartbeats); this worker stopped too; "
                     f"{_kept_text(kept)}. Restart every worker with the same command to resume")
