"""Makes weights and sub-layers kept in Python lists visible to `tf.train.Checkpoint`.

Keras 3 tracks ``self.things = [...]`` for its own saving, but under the TensorFlow backend those
lists are not TensorFlow trackables, so `tf.train.Checkpoint` silently skips everything in them
(verified with Keras 3.15: a model-only checkpoint lost every list-held cell and weight bank). Every
enas_tf2 layer or model that keeps layers or variables in lists mixes this in; `tests/test_checkpoint_coverage.py`
checks that a checkpoint holds every weight of the child, controller and fixed net.
"""

from __future__ import annotations

import tensorflow as tf


def _add_items(children: dict, prefix: str, value) -> None:
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return
    for key, item in items:
        name = f"{prefix}-{key}"
        if isinstance(item, tf.__internal__.tracking.Trackable):
            children.setdefault(name, item)
        else:
            _add_items(children, name, item)


class ListTrackingMixin:
    """Mix in BEFORE the Keras base class: ``class MyLayer(ListTrackingMixin, keras.layers.Layer)``.

    Checkpoint keys are ``<attribute>-<index>`` (nested: ``<attribute>-<i>-<j>``), so they depend
    only on the layer's structure, never on auto-generated layer names.
    """

    def _trackable_children(self, save_type="checkpoint", **kwargs):
        children = super()._trackable_children(save_type, **kwargs)
        if save_type == "checkpoint":
            for attr in list(getattr(self, "_tracked", [])):
                if not attr.startswith("_"):
                    _add_items(children, attr, getattr(self, attr, None))
        return children
