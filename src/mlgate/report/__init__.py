"""Gate reports for people: Markdown for pull requests and step summaries, one-file HTML, PNG plots.

Every renderer takes the report as the plain dict stored in the registry (schema
``mlgate.gate-report/1``, documented field by field in docs/gate-report.md)::

    from mlgate.report import write
    paths = write(report, Path("gate-report"))  # report.json, report.md + PNGs, report.html
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from mlgate.errors import InputError, UsageError
from mlgate.report import markdown as _markdown_module  # noqa: F401  (loaded first: the name below is the function)
from mlgate.report.gate_view import check_report, markdown
from mlgate.report.html import html
from mlgate.report.plots import plots

__all__ = ["FORMATS", "html", "markdown", "plots", "write"]

FORMATS = ("json", "md", "html")


def write(report: Mapping[str, Any], out_dir: Path, *, formats: Iterable[str] = FORMATS) -> dict[str, Path]:
    """Write ``report.json`` (sorted keys, indent 2), ``report.md`` with its PNGs beside it, and ``report.html``.

    Returns format or plot name → path, for what was written. The Markdown links its PNGs relatively,
    so the folder can be uploaded as one CI artifact.
    """
    check_report(report)
    wanted = [formats] if isinstance(formats, str) else list(dict.fromkeys(formats))
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown or not wanted:
        raise UsageError(
            f"unknown report format(s) {unknown!r}" if unknown else "no report format was asked for",
            hint=f"choose from {', '.join(FORMATS)}",
        )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    if "json" in wanted:
        written["json"] = out_dir / "report.json"
        written["json"].write_text(_json(report), encoding="utf-8")
    pictures: dict[str, Path] = {}
    if "md" in wanted:
        pictures = plots(report, out_dir)
        written["md"] = out_dir / "report.md"
        written["md"].write_text(markdown(report, images={n: p.name for n, p in pictures.items()}), encoding="utf-8")
    if "html" in wanted:
        if pictures:
            images = {name: path.read_bytes() for name, path in pictures.items()}
        else:  # the HTML embeds its plots, so without Markdown no PNG needs to stay on disk
            with tempfile.TemporaryDirectory(prefix="mlgate-report-") as tmp:
                images = {name: path.read_bytes() for name, path in plots(report, Path(tmp)).items()}
        written["html"] = out_dir / "report.html"
        written["html"].write_text(html(report, images=images), encoding="utf-8")
    return {**written, **pictures}


def _json(report: Mapping[str, Any]) -> str:
    try:
        return json.dumps(report, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    except ValueError as exc:
        raise InputError(
            "the gate report holds NaN or infinity, which JSON cannot store",
            hint="store null for a figure that could not be computed, as Check.to_dict does",
        ) from exc
    except TypeError as exc:
        raise InputError(
            f"the gate report holds a value JSON cannot store: {exc}",
            hint="convert NumPy arrays and scalars to lists and floats (Check.to_dict does)",
        ) from exc
