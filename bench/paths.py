"""Where the benchmark scripts find the repository and the real data.

``SHARED`` is ``$ENAS_SHARED_DATA`` when set, else ``shared/data`` beside the checkout (the
layout of the development machine). ``CIFAR10`` and ``NB201_TABLE``, the scripts' ``--data_path``
and ``--nb201_table`` defaults, are paths under it.
"""

import os

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("ENAS_SHARED_DATA", os.path.join(os.path.dirname(REPO), "shared", "data"))
CIFAR10 = os.path.join(SHARED, "cifar10", "cifar-10-batches-py")   # the original pickle batches
NB201_TABLE = os.path.join(SHARED, "nb201", "nb201_cifar10.csv")    # the evaluator's truth table
