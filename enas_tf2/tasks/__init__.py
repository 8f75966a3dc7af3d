"""Tasks: the modality seam (what is learned and how it is scored). See `base.py`."""
