"""PNG plots: written only when the report has data for them, valid PNGs of the documented size, headless."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlgate.errors import InputError
from mlgate.report import plots
from tests.unit.report.png import png_size


def test_binary_report_gives_roc_pr_calibration_and_slices(binary_report: dict[str, Any], tmp_path: Path) -> None:
    written = plots(binary_report, tmp_path / "out")
    assert list(written) == ["roc", "pr", "calibration", "slices"]
    for name, path in written.items():
        assert path == tmp_path / "out" / f"{name}.png"
        width, height = png_size(path.read_bytes())
        assert width == 600
        assert height == 400 if name != "slices" else height >= 400
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(f"{n}.png" for n in written)


def test_regression_report_gives_only_residuals(regression_report: dict[str, Any], tmp_path: Path) -> None:
    written = plots(regression_report, tmp_path)
    assert list(written) == ["residuals"]
    assert png_size(written["residuals"].read_bytes()) == (600, 400)


def test_first_model_curves_without_champion(first_model_report: dict[str, Any], tmp_path: Path) -> None:
    written = plots(first_model_report, tmp_path)
    assert list(written) == ["roc", "pr", "calibration"]


def test_a_report_without_plot_data_writes_nothing(binary_report: dict[str, Any], tmp_path: Path) -> None:
    report = {**binary_report, "plots": None, "slices": []}
    assert plots(report, tmp_path / "empty") == {}
    assert list((tmp_path / "empty").iterdir()) == []


def test_curves_with_empty_or_null_arrays_are_skipped(binary_report: dict[str, Any], tmp_path: Path) -> None:
    report = copy.deepcopy(binary_report)
    report["plots"]["roc"] = {"candidate": {"fpr": [], "tpr": []}, "champion": None}
    report["plots"]["pr"]["candidate"]["precision"] = [None] * len(report["plots"]["pr"]["candidate"]["recall"])
    report["plots"]["pr"]["champion"] = None
    report["plots"]["calibration"]["champion"]["fraction_positive"][0] = None  # an empty bin still draws
    written = plots(report, tmp_path)
    assert list(written) == ["calibration", "slices"]


def test_the_slice_chart_grows_with_its_rows(binary_report: dict[str, Any], tmp_path: Path) -> None:
    report = copy.deepcopy(binary_report)
    base = report["slices"][0]
    report["slices"] = [{**base, "slice": f"region {i} {'x' * 60}"} for i in range(20)]
    width, height = png_size(plots(report, tmp_path)["slices"].read_bytes())
    assert (width, height) == (600, round((1.4 + 0.4 * 20) * 100))


def test_same_report_same_bytes(binary_report: dict[str, Any], tmp_path: Path) -> None:
    first = plots(binary_report, tmp_path / "a")
    second = plots(binary_report, tmp_path / "b")
    assert all(first[n].read_bytes() == second[n].read_bytes() for n in first)


def test_draws_without_pyplot_or_a_display(binary_report: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "report.json").write_text(json.dumps(binary_report))
    code = (
        "import json, sys\nfrom pathlib import Path\nfrom mlgate.report import plots\n"
        f"out = plots(json.loads(Path({str(tmp_path / 'report.json')!r}).read_text()), Path({str(tmp_path)!r}))\n"
        "print(sorted(out), 'matplotlib.pyplot' in sys.modules)"
    )
    # a backend that cannot load: only code that goes through pyplot or the GUI machinery would try it
    env = {"PATH": "/usr/bin:/bin", "MPLBACKEND": "module://no_such_backend", "MPLCONFIGDIR": str(tmp_path / "mpl")}
    done = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['calibration', 'pr', 'roc', 'slices'] False"


def test_rejects_what_is_not_a_gate_report(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unsupported gate report schema None"):
        plots({"plots": {}}, tmp_path)


def test_slices_are_a_forest_plot_coloured_by_verdict(binary_report: dict[str, Any], tmp_path: Path) -> None:
    import importlib

    from matplotlib.image import imread

    colours = importlib.import_module("mlgate.report.plots")  # the package's `plots` is the function
    FAILING, UNDECIDED, UNTESTED = colours.FAILING, colours.UNDECIDED, colours.UNTESTED
    report = copy.deepcopy(binary_report)
    base = {k: v for k, v in report["slices"][0].items() if k != "reason"}
    report["slices"] = [
        {**base, "slice": "failing", "status": "fail", "delta": -0.2, "ci": [-0.3, -0.1], "max_drop": 0.05},
        {**base, "slice": "undecided", "status": "pass", "delta": -0.02, "ci": [-0.12, 0.08], "max_drop": 0.05},
        {"slice": "no positives", "rows": 40, "metric": "recall", "status": "skip",
         "reason": "not tested: no positive rows, so recall is undefined here"},
    ]  # fmt: skip
    pixels = imread(plots(report, tmp_path)["slices"])[..., :3]

    def has(hex_colour: str) -> bool:
        rgb = np.array([int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
        return bool((np.abs(pixels - rgb).max(axis=-1) < 0.02).sum() > 20)

    assert has(FAILING) and has(UNDECIDED) and has(UNTESTED)
