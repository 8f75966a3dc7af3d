"""The activation ids of the two RNN cell encodings (docs/enas_reference.md §1.3): the single table that gives
``func`` tokens a meaning.

The corrected enas_lm encoding and the original repository number the four activations
differently (identity and sigmoid are swapped). Everything inside the networks uses the
*canonical* ids below (equal to enas_lm's); a token of the original encoding is translated once,
through `CANONICAL_FROM_ORIGINAL`.
"""

from __future__ import annotations

# Cell variants: how tokens are laid out and how the cell output is formed.
ENAS_LM = "enas_lm"      # fixed tanh node 0 + K (prev, func) nodes; output = mean of all K nodes
ORIGINAL = "original"    # f_0 then K (prev, func) nodes; output = mean of the loose ends
VARIANTS = (ENAS_LM, ORIGINAL)

# Canonical activation ids (enas_lm's numbering).
TANH, RELU, SIGMOID, IDENTITY = 0, 1, 2, 3
NAMES = ("tanh", "relu", "sigmoid", "identity")
NUM_FUNCS = len(NAMES)

# Token id -> canonical id, per variant (original: 0 tanh, 1 ReLU, 2 identity, 3 sigmoid).
CANONICAL_FROM_ENAS_LM = (TANH, RELU, SIGMOID, IDENTITY)
CANONICAL_FROM_ORIGINAL = (TANH, RELU, IDENTITY, SIGMOID)
CANONICAL_FROM = {ENAS_LM: CANONICAL_FROM_ENAS_LM, ORIGINAL: CANONICAL_FROM_ORIGINAL}


def function_names(variant: str):
    """Activation names indexed by the token ids of `variant`."""
    return tuple(NAMES[c] for c in CANONICAL_FROM[variant])
