"""NASWOT (Mellor et al., "Neural Architecture Search without Training", ICML 2021): a
zero-cost score of an untrained network, and the baseline "score N random cells, keep the best".

For a batch of B images, each image's binary code ``c_i`` is the on/off pattern (1 where > 0)
of every ReLU unit of the network; ``K_H[i, j] = N_A - Hamming(c_i, c_j)`` with N_A the number
of ReLU units, i.e. the number of units on which two images agree; the score is
``log |det K_H|`` (slogdet). Networks whose ReLUs separate the images well score high.

The kernel is accumulated ReLU by ReLU (``c c^T + (1 - c)(1 - c)^T`` per ReLU) instead of
materialising all codes: the NAS-Bench-201 net has about a million ReLU units per image.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional

import numpy as np

from enas_tf2.errors import EnasError


def naswot_score(net, images) -> float:
    """The NASWOT score of `net` (a fixed network with ``relu_inputs(images)``, e.g. `Nb201Net`)
    on the image batch `images` (BN with batch statistics, as at initialisation)."""
    import tensorflow as tf
    if not hasattr(net, "relu_inputs"):
        raise EnasError(f"{type(net).__name__} does not expose its ReLU inputs; NASWOT needs a "
                        f"network with relu_inputs(images)")
    batch = int(images.shape[0])
    if batch < 2:
        raise EnasError(f"NASWOT needs a batch of at least 2 images, got {batch}")
    kernel = np.zeros([batch, batch], np.float64)
    for tap in net.relu_inputs(images, training=True):
        codes = tf.cast(tf.reshape(tap > 0, [batch, -1]), tf.float32)
        # Agreements = units - Hamming = n - |c_i| - |c_j| + 2 c_i.c_j: one matmul per ReLU.
        # float32 is exact here: every entry is an integer below 2**24.
        both = tf.matmul(codes, codes, transpose_b=True).numpy().astype(np.float64)
        ones = tf.reduce_sum(codes, axis=1).numpy().astype(np.float64)
        kernel += int(codes.shape[1]) - ones[:, None] - ones[None, :] + 2.0 * both
    _, logdet = np.linalg.slogdet(kernel)
    return float(logdet)


def naswot_search(space, input_spec, images, num_cells: int, seed: int = 0,
                  truth: Optional[Callable[[Any], Dict[str, Any]]] = None,
                  log: Callable[[str], None] = lambda line: None) -> Dict[str, Any]:
    """Scores `num_cells` uniformly random cells of `space` at initialisation and keeps the best.

    Args:
      space: a CNN `SearchSpace` whose fixed nets have ``relu_inputs`` (nb201).
      input_spec: the `ImageSpec` the nets are built for.
      images: one float32 batch ``[B, H, W, 3]``, preprocessed as for training.
      num_cells: N random cells.
      seed: seeds the cells (random stream of the run's seed) and each net's initial weights.
      truth: optional architecture -> truth block (`Nb201Table.truth`), reported per cell.

    Returns:
      ``{"num_cells", "seed", "rows": [{"tokens", "score", ["true_acc"]}], "best": row of the
      highest score (with its truth block when known), "arch": the best cell}``.
    """
    import keras

    from enas_tf2.training.search_steps import RANDOM_STREAM, host_seed
    if num_cells < 1:
        raise EnasError(f"NASWOT needs at least 1 cell, got {num_cells}")
    rows, archs = [], []
    for i in range(num_cells):
        arch = space.random_arch(host_seed(RANDOM_STREAM, seed, i))
        keras.utils.set_random_seed(seed * 100_003 + i)
        net = space.build_fixed(arch, input_spec, total_steps=1)
        row = {"tokens": arch.tokens(), "score": naswot_score(net, images)}
        if truth is not None:
            row["true_acc"] = truth(arch)["cifar10_test_acc"]
        rows.append(row)
        archs.append(arch)
        log(f"naswot {i + 1}/{num_cells}: score {row['score']:.2f}"
            + (f", true accuracy {row['true_acc']:.2f}" if truth else "") + f"  {row['tokens']}")
    best = int(np.argmax([r["score"] for r in rows]))
    block = dict(rows[best])
    if truth is not None:
        block.update(truth(archs[best]))
    return {"num_cells": num_cells, "seed": seed, "rows": rows, "best": block,
            "arch": archs[best]}
