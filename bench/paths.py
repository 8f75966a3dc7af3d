"""Where the benchmark scripts find the repository and the real data.

``SHARED`` is ``$ENAS_SHARED_DATA`` when set, else ``shared/data`` beside the checkout (the
layout of the development machine); the scripts' ``--data``-style flags default to paths under it.
"""

import os

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("ENAS_SHARED_DATA", os.path.join(os.path.dirname(REPO), "shared", "data"))
