"""NAS-Bench-201 around a run: the truth of a finished search, oracle runs, NASWOT runs.

The Python API (`enas_tf2.api`) and the CLIs call these; none of them runs inside a search. A
search only ever gets its table AFTER it finished (`annotate_search`), so it runs identically
with or without one.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Dict, Optional

import numpy as np

from enas_tf2.errors import EnasError
from enas_tf2.json_file import write_json, write_jsonl
from enas_tf2.ranking.nb201_table import Nb201Table, load_table

LOGGER = logging.getLogger("enas_tf2")


def require_nb201(space_name: str, what: str = "--nb201_table") -> None:
    """EnasError unless the run is of the nb201 space."""
    if space_name != "nb201":
        raise EnasError(f"{what} gives true accuracies of NAS-Bench-201 cells only; this run is "
                        f"of the {space_name!r} search space (use --search_for=nb201)")


def annotate_search(output_dir: str, table: Nb201Table) -> Dict[str, Any]:
    """Adds the derived cell's ``true_accuracy`` block to ``arch.json`` and rewrites the
    report with the true-accuracy section; returns the block."""
    from enas_tf2.api import load_arch, load_arch_json
    from enas_tf2.report import write_search_outputs
    obj = load_arch_json(output_dir)
    require_nb201(obj.get("search_space"))
    block = table.truth(load_arch(output_dir))
    obj["true_accuracy"] = block
    write_json(os.path.join(output_dir, "arch.json"), obj)
    write_search_outputs(output_dir, "nb201", log=False, truth=table.truth)
    LOGGER.info(f"true accuracy of the derived cell: {block['cifar10_test_acc']:.2f}% "
                f"(percentile {block['percentile']:.1f} of 15,625; benchmark index "
                f"{block['index']})")
    return block


def run_oracle(cfg, table_path: str, num_samples: int) -> Dict[str, Any]:
    """An oracle run of `cfg` (its ``run.search_strategy`` is ``oracle`` or ``oracle_random``,
    its controller settings and seed are used); writes ``arch.json`` (the best sampled cell,
    with its ``true_accuracy`` and ``oracle`` blocks) and ``oracle.jsonl`` (every sample) to
    ``cfg.run.output_dir``."""
    from enas_tf2.ranking.oracle import OracleSearch
    require_nb201(cfg.space, f"--search_strategy={cfg.run.search_strategy}")
    if not table_path:
        raise EnasError(f"--search_strategy={cfg.run.search_strategy} needs --nb201_table "
                        f"(the NAS-Bench-201 CSV): the table is its reward")
    table = load_table(table_path)
    result = OracleSearch(table, cfg.run.search_strategy, num_samples, cfg.run.seed,
                          cfg.controller, log=LOGGER.info).run()
    out = cfg.run.output_dir
    os.makedirs(out, exist_ok=True)
    arch = result["arch"]
    write_jsonl(os.path.join(out, "oracle.jsonl"), result["samples"])
    obj = {**arch.to_json(), "score": result["best"]["cifar10_test_acc"] / 100.0,
           "reward": result["best"]["cifar10_test_acc"] / 100.0,
           "derive": {"strategy": cfg.run.search_strategy, "num_samples": num_samples},
           "oracle": {k: result[k] for k in ("strategy", "seed", "num_samples", "top1_at")},
           "true_accuracy": table.truth(arch)}
    write_json(os.path.join(out, "arch.json"), obj)
    return result


def load_images(data_path: str, batch: int, seed: int = 0) -> np.ndarray:
    """`batch` CIFAR-10 training images (a seeded random choice), scaled to [0, 1] and
    standardised per channel: the NASWOT input."""
    from enas_tf2.data.images.cifar10 import load_cifar10
    arrays = load_cifar10(data_path)
    if batch > len(arrays.train_images):
        raise EnasError(f"NASWOT batch of {batch} images but {data_path} has only "
                        f"{len(arrays.train_images)} training images")
    pick = np.random.default_rng(seed).choice(len(arrays.train_images), batch, replace=False)
    images = arrays.train_images[pick].astype(np.float32) / 255.0
    mean = images.mean(axis=(0, 1, 2))
    std = images.std(axis=(0, 1, 2)) + 1e-6
    return ((images - mean) / std).astype(np.float32)


def run_naswot(data_path: str, num_cells: int = 100, seed: int = 0, batch: int = 128,
               table_path: Optional[str] = None, space_config=None,
               output_dir: Optional[str] = None) -> Dict[str, Any]:
    """NASWOT over `num_cells` random nb201 cells on `batch` CIFAR-10 images; with a table, the
    true accuracy of every cell and of the best-scoring one. Writes ``naswot.json`` (and the
    best cell as ``arch.json``) to `output_dir` when given."""
    from enas_tf2.ranking.naswot import naswot_search
    from enas_tf2.search_space.registry import get_space
    from enas_tf2.data.specs import ImageSpec
    table = load_table(table_path)
    images = load_images(data_path, batch, seed)
    space = get_space("nb201", space_config)
    result = naswot_search(space, ImageSpec(images.shape[1], images.shape[2], 10), images,
                           num_cells, seed, None if table is None else table.truth,
                           log=LOGGER.info)
    if output_dir:
        os.makedirs(output_dir, exist_ok=True)
        write_json(os.path.join(output_dir, "naswot.json"),
                   {k: v for k, v in result.items() if k != "arch"})
        obj = {**result["arch"].to_json(), "derive": {"strategy": "naswot",
                                                      "num_samples": num_cells}}
        if table is not None:
            obj["true_accuracy"] = table.truth(result["arch"])
        write_json(os.path.join(output_dir, "arch.json"), obj)
    return result
