#!/usr/bin/env python
"""Builds the package's embedded sample photos (enas_tf2/sample_data/flowers) from a flower folder.

A developer tool, not part of the installed package. The source is a folder laid out like the
TensorFlow flower photos (``SOURCE/<class>/<photo>.jpg``) with the archive's ``LICENSE.txt``:
the CC-BY 2.0 notice, then one credit line per photo, ``<class>/<photo>.jpg CC-BY by ...``.

Each photo is turned upright (EXIF orientation), shrunk so its shorter side is --short_side
pixels (aspect ratio kept, never enlarged), stripped of metadata and saved as a baseline JPEG at
--quality. LICENSE.txt is rewritten with the notice and the credit lines of exactly the photos
shipped. Re-running with the same source, settings and Pillow version gives identical files.

  python scripts/make_sample_data.py /path/to/flower_photos_subset
  python scripts/make_sample_data.py SOURCE --per_class=40 --short_side=96   # a smaller subset

It refuses to write into a non-empty --output unless --overwrite is given, and stops if a
photo has no credit line (the licence requires crediting every photographer).
"""

from __future__ import annotations

import argparse
import pathlib
import shutil
import sys
from typing import Dict, List

from PIL import Image, ImageOps

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = REPO_ROOT / "enas_tf2" / "sample_data" / "flowers"


def read_license(path: pathlib.Path):
    """Splits the archive's LICENSE.txt into notice lines and {"class/photo.jpg": credit line}."""
    notice: List[str] = []
    credits: Dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        first = line.split(" ", 1)[0]
        if "/" in first and first.lower().endswith(".jpg"):
            credits[first] = line
        elif not credits:          # everything before the first credit line is the notice
            notice.append(line)
    return notice, credits


def shrink(source: pathlib.Path, target: pathlib.Path, short_side: int, quality: int) -> None:
    """Writes ``source`` as an upright RGB JPEG whose shorter side is at most ``short_side``."""
    with Image.open(source) as image:
        image = ImageOps.exif_transpose(image).convert("RGB")
        width, height = image.size
        scale = short_side / min(width, height)
        if scale < 1:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            image = image.resize(size, Image.Resampling.LANCZOS)
        # No exif/icc arguments: the copy carries pixels only, no camera or location metadata.
        image.save(target, "JPEG", quality=quality, optimize=True, progressive=False)


def main(argv=None) -> int:
    """Parses the arguments and writes the sample folder; returns the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=pathlib.Path,
                        help="SOURCE/<class>/<photo>.jpg + LICENSE.txt")
    parser.add_argument("--output", type=pathlib.Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--short_side", type=int, default=112, help="pixels (default 112)")
    parser.add_argument("--quality", type=int, default=85, help="JPEG quality (default 85)")
    parser.add_argument("--per_class", type=int, default=0,
                        help="photos per class, the first in name order (0 = all)")
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty --output")
    args = parser.parse_args(argv)

    license_path = args.source / "LICENSE.txt"
    if not license_path.is_file():
        parser.error(f"{license_path} is missing: the photos' CC-BY credits are required")
    notice, credits = read_license(license_path)
    classes = sorted(p.name for p in args.source.iterdir() if p.is_dir())
    if not classes:
        parser.error(f"{args.source} holds no class folders")
    if args.output.exists() and any(args.output.iterdir()):
        if not args.overwrite:
            parser.error(f"{args.output} is not empty (pass --overwrite to replace it)")
        shutil.rmtree(args.output)

    shipped: List[str] = []
    for name in classes:
        photos = sorted(p for p in (args.source / name).iterdir()
                        if p.suffix.lower() in (".jpg", ".jpeg"))
        if args.per_class:
            photos = photos[:args.per_class]
        (args.output / name).mkdir(parents=True, exist_ok=True)
        for photo in photos:
            key = f"{name}/{photo.name}"
            if key not in credits:
                sys.exit(f"error: {key} has no credit line in {license_path}; not shipping it")
            shrink(photo, args.output / name / photo.name, args.short_side, args.quality)
            shipped.append(key)

    while notice and not notice[-1].strip():
        notice.pop()
    lines = notice + [""] + [credits[key] for key in shipped]
    (args.output / "LICENSE.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    total = sum(f.stat().st_size for f in args.output.rglob("*") if f.is_file())
    print(f"wrote {len(shipped)} photos in {len(classes)} classes to {args.output} "
          f"({total / 2**20:.2f} MiB with LICENSE.txt)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
