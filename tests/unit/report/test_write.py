"""write: report.json, report.md with its PNGs beside it, report.html; the package's public names."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import mlgate.report
from mlgate.errors import InputError, UsageError
from mlgate.report import write
from tests.unit.report.png import png_size


def test_writes_json_markdown_pngs_and_html(binary_report: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "gate" / "report"
    paths = write(binary_report, out)
    assert list(paths) == ["json", "md", "html", "roc", "pr", "calibration", "slices"]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths.values())
    text = paths["json"].read_text(encoding="utf-8")
    assert text == json.dumps(binary_report, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert json.loads(text) == binary_report
    md = paths["md"].read_text(encoding="utf-8")
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert links == ["roc.png", "pr.png", "calibration.png", "slices.png"]
    for link in links:
        assert png_size((out / link).read_bytes())[0] == 600
    page = paths["html"].read_text(encoding="utf-8")
    assert page.count('src="data:image/png;base64,') == 4
    assert 'src="roc.png"' not in page


def test_html_alone_leaves_no_png_behind(regression_report: dict[str, Any], tmp_path: Path) -> None:
    paths = write(regression_report, tmp_path / "out", formats=("html",))
    assert list(paths) == ["html"]
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["report.html"]
    assert paths["html"].read_text(encoding="utf-8").count("data:image/png;base64,") == 1  # residuals


def test_json_alone(regression_report: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert write(regression_report, out, formats="json") == {"json": out / "report.json"}
    assert [p.name for p in out.iterdir()] == ["report.json"]


def test_unknown_or_no_format_is_a_usage_error(regression_report: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"unknown report format\(s\) \['pdf'\]"):
        write(regression_report, tmp_path / "out", formats=("md", "pdf"))
    with pytest.raises(UsageError, match="no report format was asked for"):
        write(regression_report, tmp_path / "out", formats=())
    assert not (tmp_path / "out").exists()


def test_values_json_cannot_hold_are_input_errors(regression_report: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(InputError, match="holds NaN or infinity"):
        write({**regression_report, "metrics": {"rmse": {"candidate": float("nan")}}}, tmp_path, formats=["json"])
    with pytest.raises(InputError, match="ndarray is not JSON serializable"):
        write({**regression_report, "notes": np.zeros(2)}, tmp_path, formats=["json"])


def test_public_names() -> None:
    assert mlgate.report.__all__ == ["FORMATS", "html", "markdown", "plots", "write"]
    for name in ("html", "markdown", "plots", "write"):
        assert callable(getattr(mlgate.report, name))
    assert mlgate.report.FORMATS == ("json", "md", "html")
