"""What `enas-export --format=litert` prints: the export, then one line per model."""

from __future__ import annotations

from enas_tf2.export.litert import REPORT_FILE, export_litert


def format_report(report: dict, export_dir: str) -> str:
    """Human-readable lines of a ``litert.json`` report."""
    lines = [f"exported LiteRT models to {export_dir} ({report['images']} {report['split']} "
             f"images, {report['threads']} interpreter thread(s), {report['interpreter']}; "
             f"details in {REPORT_FILE}):",
             f"  keras float  accuracy {100 * report['keras_float_accuracy']:.2f}%"]
    for precision, m in report["models"].items():
        lines.append(f"  {precision:<7} {m['file']:<22} accuracy {100 * m['accuracy']:.2f}%  "
                     f"median latency {m['latency_ms']:.3f} ms  {m['bytes'] / 1024:.0f} KiB")
    lines.append(f"  int8 accuracy drop {100 * report['int8_accuracy_drop']:+.2f} points; "
                 f"{report['cost']['params']:,} parameters, {report['cost']['macs_m']} M MACs")
    return "\n".join(lines)


def export_litert_cli(train_dir: str, export_dir: str, overwrite: bool) -> str:
    """Runs `export_litert` and returns its summary lines."""
    return format_report(export_litert(train_dir, export_dir, overwrite=overwrite), export_dir)
