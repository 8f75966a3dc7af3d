"""Small real data shipped inside the package, so the quickstart runs with no download.

``flowers/`` holds 300 CC-BY photos from the TensorFlow flower set (60 each of daisy,
dandelion, roses, sunflowers, tulips), shrunk to a 112-pixel shorter side; ``flowers/LICENSE.txt``
credits every photographer. See ``README.md`` beside this file for how it was made.
"""

from __future__ import annotations

import importlib.resources
import os

from enas_tf2.errors import EnasError


def flowers_dir() -> str:
    """The folder of the embedded flower photos, ``<dir>/<class>/<photo>.jpg``, as a path string.

    It is the folder inside the installed package (a regular or editable install keeps package
    data as plain files), ready for ``enas-convert --source=image_folder --input=<dir>``. Raises
    EnasError when the package was installed without its data files.
    """
    folder = importlib.resources.files(__name__).joinpath("flowers")
    try:
        path = os.fspath(folder)
    except TypeError:           # imported from a zip archive: there is no folder to hand out
        raise EnasError(f"the embedded sample photos are inside an archive ({folder}); install "
                        "enas_tf2 as a regular package (pip install) to use them") from None
    if not os.path.isfile(os.path.join(path, "LICENSE.txt")):
        raise EnasError(f"the embedded sample photos are missing from {path}: reinstall enas_tf2 "
                        "from a wheel or source tree that includes enas_tf2/sample_data/flowers")
    return path
