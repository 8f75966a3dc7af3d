"""Search reports: ``summary.json``, ``report.html``, the best cells' pictures, health warnings.

Hook for the search loop (call it on the chief at the end of every search, after ``arch.json``)::

    from enas_tf2.report import write_search_outputs
    warnings = write_search_outputs(run_dir, space.name,
                                    task={"num_classes": 10, "examples_per_step": 128})

It writes ``arch.png``/``arch.svg`` beside ``arch.json`` (when there is one), ``summary.json`` and
``report.html``, logs one ``warning: ...`` line per health warning and returns the warnings.
`enas-arch report RUN_DIR` calls the same function on demand.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Dict, List, Optional

from enas_tf2.errors import EnasError

LOGGER = logging.getLogger("enas_tf2")

__all__ = ["write_search_outputs"]


def write_search_outputs(run_dir: str, space_name: Optional[str] = None,
                         task: Optional[Dict[str, Any]] = None, log: bool = True,
                         out_dir: Optional[str] = None, truth=None) -> List[Any]:
    """Writes the pictures, ``summary.json`` and ``report.html`` of a search run folder.

    Args:
      run_dir: the search's output folder (``progress.jsonl``, ``archs.jsonl``, ``arch.json``).
      space_name: the search space (read from the files when None).
      task: facts the files do not hold: ``num_classes`` (or ``vocab_size``) for the at-chance
        check, ``examples_per_step`` for the cost, ``score``/``higher_is_better``/``unit`` for a
        non-image task. They are saved in summary.json, so a later on-demand report reuses them.
      log: print one ``warning: ...`` line per health warning on the enas_tf2 logger.
      out_dir: where the files go (default `run_dir`: the search's own end-of-run report);
        `enas-arch report` passes a folder of its own, so analysis never rewrites a run's files.
      truth: optional callable, architecture -> its benchmark truth block (e.g.
        `enas_tf2.ranking.nb201_table.Nb201Table.truth`): adds the ``true_accuracy`` section
        (summary.json and report.html) with the derived cell's true accuracy and a plot of the
        true accuracy of each epoch's sampled cells.

    Returns:
      The fired `HealthWarning`s (``.code``, ``.message``).
    """
    from enas_tf2.json_file import write_json
    from enas_tf2.render import graph_for, render_graph_files
    from enas_tf2.render.svg import to_svg
    from enas_tf2.report.html import report_html
    from enas_tf2.report.run_folder import RunFolder
    from enas_tf2.report.summary import SearchSummary

    folder = RunFolder(run_dir, space_name)
    if folder.is_empty():
        raise EnasError(f"{run_dir} holds no search files (progress.jsonl, archs.jsonl or "
                        f"arch.json); is it a search output folder?")
    summary = SearchSummary(folder, task)
    out_dir = out_dir or run_dir
    os.makedirs(out_dir, exist_ok=True)
    arch_svg = None
    files = {"summary": "summary.json", "report": "report.html"}
    if summary.arch is not None:
        graph = graph_for(summary.arch)
        paths = render_graph_files(graph, out_dir, "arch", ("png", "svg"))
        files.update({f"arch_{fmt}": os.path.basename(p) for fmt, p in paths.items()})
        arch_svg = to_svg(graph, element_id="arch-svg")
    data = summary.to_json()
    data["files"] = files
    section = None
    if truth is not None:
        from enas_tf2.report.true_accuracy import true_accuracy_section
        section = true_accuracy_section(folder, summary.arch, truth)
        data["true_accuracy"] = section
    write_json(os.path.join(out_dir, "summary.json"), data)
    page = report_html(summary, arch_svg, section)
    tmp = os.path.join(out_dir, "report.html.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(page)
    os.replace(tmp, os.path.join(out_dir, "report.html"))
    if log:
        for warning in summary.warnings:
            LOGGER.warning("warning: %s", warning.message)
    return summary.warnings
