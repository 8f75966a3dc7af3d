"""Run safety: what protects a run folder, apart from the loops that train in it.

  run_lock.py        one process per run folder (a killed run's lock is taken over)
  run_signature.py   a rerun is compared with the saved experiment.json (harmful changes refused)
  checkpointing.py   the run folder, one checkpoint of all state, restore with fallback
  resume_point.py    the position inside an epoch (exact mid-epoch resume) and the interval saver
  storage_errors.py  disk full, read-only or deleted folders turned into one line
  memory_probe.py    bytes per example of a training step, measured at small batches
  host_memory.py     what memory this process can use (MemAvailable, cgroup limits)

The pre-flight that uses the probe (`training/preflight.py`) stays with the loops: it times their
compiled steps, and this package imports nothing from `training/`.
"""
