"""The macro space's branch ids (docs/enas_reference.md §1.1): what op tokens mean.

Every other macro module (controller, weight-shared child, fixed network, printing) reads op ids
through the names defined here, so the integer codes of the original token strings appear once.
"""

from __future__ import annotations

from enas_tf2.search_space.tokens import OpNames

CONV_3X3 = 0
SEP_CONV_3X3 = 1
CONV_5X5 = 2
SEP_CONV_5X5 = 3
AVG_POOL_3X3 = 4
MAX_POOL_3X3 = 5

# Indexed by op id; these are the names used in logs, `describe()` and `histogram()`.
OP_NAMES = ("conv_3x3", "sep_conv_3x3", "conv_5x5", "sep_conv_5x5", "avg_pool_3x3",
            "max_pool_3x3")
NUM_OPS = len(OP_NAMES)

CONV_OPS = (CONV_3X3, SEP_CONV_3X3, CONV_5X5, SEP_CONV_5X5)
SEP_CONV_OPS = (SEP_CONV_3X3, SEP_CONV_5X5)
POOL_OPS = (AVG_POOL_3X3, MAX_POOL_3X3)

# Kernel size of the convolution ops by op id.
KERNEL_SIZE = {CONV_3X3: 3, SEP_CONV_3X3: 3, CONV_5X5: 5, SEP_CONV_5X5: 5}


_OP_NAMES = OpNames("macro", OP_NAMES)
op_name = _OP_NAMES.name   # op id -> name (3 -> "sep_conv_5x5"); EnasError for an unknown id
op_id = _OP_NAMES.id       # name -> op id; EnasError naming the valid names
