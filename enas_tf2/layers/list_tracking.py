"""`track_items`: the one way enas_tf2 keeps weights and layers held in containers visible to
`tf.train.Checkpoint`.

Keras 3 tracks ``self.things = [...]`` for its own saving, but under the TensorFlow backend those
lists are not TensorFlow trackables, so `tf.train.Checkpoint` silently skips everything in them
(verified with Keras 3.15: a model-only checkpoint lost every list-held cell and weight bank).
What a checkpoint does see is an attribute holding a layer or a variable, so every layer or
model registers what it keeps in a container as named attributes (``setattr``), the same idiom
as the layers that name their weights one by one (``setattr(self, f"cell_{i}", ...)``).
`tests/test_checkpoint_coverage.py` checks that a checkpoint holds every weight of the child,
controller and fixed net.
"""

from __future__ import annotations

import tensorflow as tf


def track_items(owner, attr: str, value):
    """Sets every trackable (layer, variable) inside `value` (a list, tuple or dict, nested) as
    an attribute of `owner` named ``<attr>-<index>`` (nested: ``<attr>-<i>-<j>``; dicts: the
    key), so checkpoint keys depend only on the structure, never on auto-generated layer names.
    Returns `value` (keep iterating the container itself)."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return value
    for key, item in items:
        name = f"{attr}-{key}"
        if isinstance(item, tf.__internal__.tracking.Trackable):
            setattr(owner, name, item)
        else:
            track_items(owner, name, item)
    return value
