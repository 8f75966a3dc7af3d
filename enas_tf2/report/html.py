"""``report.html``: one self-contained page about a search (inline SVG only: no script, no network).

Sections: health warnings, the result (best architecture, reward, controller vs random, cost),
the best cells' picture with their description, and one figure per curve that the run recorded:
controller reward and baseline, per-sample rewards, entropy, child loss, child accuracy or
perplexity, validation/test score, per-epoch op histogram, skip rate, throughput and the derive
comparison. Every figure is ``<figure class="plot" id="plot-...">`` so tests and tools can find
them.
"""

from __future__ import annotations

import html
import math
import time
from typing import List, Optional, Tuple

from enas_tf2.report.summary import SearchSummary
from enas_tf2.report.svg_chart import line_chart, stacked_bars, strip_chart

MAX_SAMPLE_POINTS = 4000
_STYLE = """
body { font-family: sans-serif; margin: 24px auto; max-width: 1540px; color: #212121; }
h1 { margin-bottom: 4px; } .meta { color: #616161; margin-top: 0; }
.warning { background: #fff3e0; border-left: 5px solid #ef6c00; padding: 6px 10px; margin: 4px 0; }
.ok { background: #e8f5e9; border-left: 5px solid #2e7d32; padding: 6px 10px; }
table { border-collapse: collapse; margin: 8px 0; } td, th { border: 1px solid #ddd;
  padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f5f5f5; } code, pre { font-family: monospace; font-size: 12px; }
.grid { display: flex; flex-wrap: wrap; gap: 14px; align-items: flex-start; }
h3 { font-size: 14px; margin: 8px 0 0; }
figure { margin: 0; border: 1px solid #ddd; padding: 6px; background: white; }
figcaption { font-size: 12px; color: #616161; max-width: 480px; }
.picture svg { max-width: 100%; height: auto; } .tokens { word-break: break-all; }
"""


def _fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return html.escape(str(value))


def _epochs(summary: SearchSummary) -> List[int]:
    # progress.jsonl and archs.jsonl already number epochs from 1, as the logs do.
    return list(summary.epochs)


def plots(summary: SearchSummary) -> List[Tuple[str, str, str]]:
    """``(id, caption, svg)`` of every plot the run's files allow, in page order."""
    cols, xs, out = summary.columns, _epochs(summary), []

    def series(*names):
        return [(n, xs, cols[n]) for n in names if n in cols]

    reward = series("reward_mean", "baseline")
    if summary.best_sample:
        keys = sorted(summary.best_sample)
        reward.append(("best sampled", list(keys), [summary.best_sample[e] for e in keys]))
    if reward:
        out.append(("plot-reward", "Controller reward (mean of its samples per epoch), the "
                    "REINFORCE baseline and the best of the epoch's sampled architectures.",
                    line_chart("chart-reward", "controller reward", reward, y_label="reward")))
    if summary.rewards:
        keys = sorted(summary.rewards)
        # A long search samples 10^5 architectures: an evenly spread subset keeps the page light.
        cap = max(5, MAX_SAMPLE_POINTS // len(keys))
        shown = {e: summary.rewards[e][::math.ceil(len(summary.rewards[e]) / cap)] for e in keys}
        px = [e for e in keys for _ in shown[e]]
        py = [r for e in keys for r in shown[e]]
        note = "" if len(py) == sum(map(len, summary.rewards.values())) else \
            f" (an even subset of at most {cap} per epoch)"
        out.append(("plot-reward-samples", "The controller samples' rewards" + note + ": their "
                    "spread is REINFORCE's signal.", line_chart(
                        "chart-reward-samples", "reward per sample", [("sample", px, py)],
                        y_label="reward", lines=False)))
    for key, pid, title, caption in (
            ("entropy", "plot-entropy", "controller entropy", "Entropy of the controller's "
             "samples: a collapse to ~0 means it stopped exploring."),
            ("child_loss", "plot-child-loss", "child training loss", "Mean training loss of "
             "the weight-shared child over the epoch.")):
        if key in cols:
            out.append((pid, caption, line_chart(f"chart-{pid[5:]}", title, series(key))))
    metric = summary.train_metric_name()
    if metric:
        label = "accuracy" if summary.task["score"] == "accuracy" else "perplexity"
        out.append(("plot-child-metric", f"Training {label} of the child (chance "
                    f"{_fmt(summary.chance())}).", line_chart(
                        "chart-child-metric", f"child training {label}", series(metric),
                        y_label=label)))
    evals = [k for k in cols if k.startswith(("valid_", "test_"))]
    if evals:
        out.append(("plot-eval", f"Validation/test {summary.task['score']} of sampled "
                    "architectures with the shared weights.",
                    line_chart("chart-eval", f"evaluation {summary.task['score']}",
                               series(*evals), y_label=summary.task["score"])))
    if summary.op_hist:
        keys = sorted(summary.op_hist)
        names = sorted({n for h in summary.op_hist.values() for n in h})
        stacks = {n: [summary.op_hist[e].get(n, 0) for e in keys] for n in names}
        out.append(("plot-op-hist", "Share of each op among the controller's samples, per "
                    "epoch.", stacked_bars("chart-op-hist", "sampled ops per epoch",
                                           list(keys), stacks)))
    if summary.skip_rate:
        keys = sorted(summary.skip_rate)
        out.append(("plot-skip-rate", "Fraction of possible skip connections the controller "
                    "switched on.", line_chart("chart-skip-rate", "skip rate", [(
                        "skip rate", list(keys), [summary.skip_rate[e] for e in keys])],
                        y_label="rate")))
    speed = [k for k in cols if k.endswith("_per_s")]
    if speed:
        out.append(("plot-throughput", "Child training throughput.", line_chart(
            "chart-throughput", "throughput", series(*speed), y_label="per second")))
    if summary.derive["controller"] or summary.derive["random"]:
        out.append(("plot-derive", "Derive step: rewards of the controller's samples vs "
                    "uniformly random architectures under the same shared weights, on one "
                    "validation batch.", strip_chart(
                        "chart-derive", "controller vs random",
                        {"controller": summary.derive["controller"],
                         "random": summary.derive["random"]})))
    cost = ((summary.folder.arch_obj or {}).get("derive") or {}).get("cost")
    if cost and cost.get("scored"):
        out.append(_pareto_plot(cost))
    return out


def _pareto_plot(cost: dict) -> Tuple[str, str, str]:
    """Accuracy vs cost of the derive step's architectures, with their Pareto front (issue
    22: ``arch.json``'s ``derive.cost``)."""
    series = []
    for kind, name in (("derive", "controller"), ("derive_random", "random")):
        rows = [r for r in cost["scored"] if r["kind"] == kind and r["cost"] is not None]
        if rows:
            series.append((name, [r["cost"] for r in rows], [r["score"] for r in rows]))
    front = cost["pareto"]
    chart = line_chart("chart-pareto", "accuracy vs cost", series, x_label=cost["unit"],
                       y_label="accuracy", lines=False)
    line = line_chart("chart-pareto-front", "Pareto front", [
        ("front", [r["cost"] for r in front], [r["score"] for r in front])],
        x_label=cost["unit"], y_label="accuracy")
    target = f" (target {cost['target']:g} {cost['unit']})" if cost.get("target") else ""
    return ("plot-pareto", f"Derive step: accuracy and cost of every scored architecture, and "
            f"the Pareto front; {html.escape(cost['objective'])}{target}.", chart + line)


def _table(rows) -> str:
    return "<table>" + "".join(f"<tr><th>{html.escape(k)}</th><td>{v}</td></tr>"
                               for k, v in rows) + "</table>"


def report_html(summary: SearchSummary, arch_svg: Optional[str] = None,
                truth_section: Optional[dict] = None) -> str:
    """The whole page; `arch_svg` is the best architecture's picture (inline SVG) if any;
    `truth_section` the benchmark's true accuracies (`report/true_accuracy.py`) if known."""
    from enas_tf2.report.true_accuracy import result_rows, truth_plot
    data = summary.to_json()
    parts = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
             f"<title>ENAS search report: {html.escape(str(data['search_space']))}</title>"
             f"<style>{_STYLE}</style></head><body>",
             "<h1>ENAS search report</h1>",
             f"<p class=\"meta\">run folder <code>{html.escape(summary.folder.path)}</code>, "
             f"search space <b>{html.escape(str(data['search_space']))}</b>, written "
             f"{time.strftime('%Y-%m-%d %H:%M')}</p>", "<section id=\"warnings\"><h2>Health</h2>"]
    if summary.warnings:
        parts += [f"<div class=\"warning\">warning: {html.escape(w.message)}</div>"
                  for w in summary.warnings]
    else:
        parts.append("<div class=\"ok\">no health warnings</div>")
    parts.append("</section><section id=\"result\"><h2>Result</h2>")
    best, cmp_, cost = data["best"], data["comparison"], data["cost"]
    if best:
        parts.append(_table([("best architecture", f"<code class=\"tokens\">"
                                                   f"{html.escape(best['tokens'])}</code>"),
                             ("its reward", _fmt(best["reward"]))]
                            + result_rows(truth_section or {})))
    else:
        parts.append("<p>No <code>arch.json</code> yet: the search has not derived its result."
                     "</p>")
    parts.append("<div class=\"grid\"><div><h3>Derive: controller vs uniformly random</h3>"
                 + _table([(k.replace("_", " "), _fmt(v)) for k, v in cmp_.items()])
                 + "</div><div><h3>Cost</h3>"
                 + _table([(k.replace("_", " "), _fmt(v)) for k, v in cost.items()])
                 + "</div><div><h3>Last epoch</h3>"
                 + _table([(k.replace("_", " "), _fmt(v)) for k, v in data["last"].items()])
                 + "</div></div></section>")
    if arch_svg:
        parts.append("<section id=\"arch\"><h2>Best architecture</h2><figure id=\"arch-picture\" "
                     f"class=\"picture\">{arch_svg}</figure>"
                     f"<pre>{html.escape(summary.arch.describe())}</pre></section>")
    parts.append("<section id=\"curves\"><h2>Search curves</h2><div class=\"grid\">")
    extra = truth_plot(truth_section or {})
    for pid, caption, svg in plots(summary) + ([extra] if extra else []):
        parts.append(f"<figure class=\"plot\" id=\"{pid}\">{svg}<figcaption>"
                     f"{html.escape(caption)}</figcaption></figure>")
    parts.append("</div></section></body></html>\n")
    return "\n".join(parts)
