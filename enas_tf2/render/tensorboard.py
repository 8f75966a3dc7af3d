"""The architecture picture as a TensorBoard image (the search's best-so-far cells, each epoch).

Kept apart from the other renderers because it needs TensorFlow; drawing itself does not.
"""

from __future__ import annotations

from enas_tf2.render import tensorboard_image


def write_arch_image(writer, arch, step: int, name: str = "arch/best_so_far",
                     max_side: int = 1600) -> None:
    """Writes the picture of `arch` as image summary `name` at `step` into `writer` (a
    ``tf.summary`` file writer; None, as on non-chief workers, writes nothing)."""
    if writer is None:
        return
    import tensorflow as tf

    pixels = tensorboard_image(arch, max_side=max_side)
    with writer.as_default(step=int(step)):
        tf.summary.image(name, pixels[None], step=int(step),
                         description=f"{arch.search_space} architecture {arch.tokens()}")
    writer.flush()
