"""``mlgate package`` from the command line; the build context itself: tests/unit/serve/test_package.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.unit.cli.conftest import Result

Cli = Callable[..., Result]


def test_package_says_what_it_wrote_and_never_overwrites_unasked(
    cli: Cli, model_file: tuple[Path, Path], tmp_path: Path
) -> None:
    path, data = model_file
    assert cli("model", "register", str(path), "--name", "bc", "--data", str(data)).code == 0
    out = tmp_path / "pkg"
    r = cli("package", "bc:1", "--out", str(out))
    assert r.code == 0, r.err
    assert "packaged bc:1 (blake3:" in r.out and f"into {out}" in r.out
    assert "Dockerfile" in r.out and "requirements.txt" in r.out
    image = json.loads((out / "mlgate-package.json").read_text())["image"]
    assert image.startswith("bc:") and f"docker build -t {image} {out}" in r.out
    assert (out / "Dockerfile").is_file() and (out / "k8s" / "deployment.yaml").is_file()
    dockerfile = (out / "Dockerfile").read_text()
    again = cli("package", "bc:1", "--out", str(out))
    assert again.code == 2 and f"{out} is not empty" in again.err and "--force" in again.err
    assert (out / "Dockerfile").read_text() == dockerfile
    assert cli("package", "bc:1", "--out", str(out), "--force").code == 0


def test_package_builds_the_image_it_was_given(cli: Cli, model_file: tuple[Path, Path], tmp_path: Path) -> None:
    path, data = model_file
    assert cli("model", "register", str(path), "--name", "bc", "--data", str(data)).code == 0
    out = tmp_path / "pkg"
    r = cli("package", "bc:1", "--out", str(out), "--image", "registry.example/bc:1.1.0")
    assert r.code == 0, r.err
    assert f"docker build -t registry.example/bc:1.1.0 {out}" in r.out and "IMAGE" not in r.out


def test_packaging_an_unknown_version_is_refused(cli: Cli, tmp_path: Path) -> None:
    r = cli("package", "fraud:1", "--out", str(tmp_path / "pkg"))
    assert r.code == 2 and "fraud" in r.err
    assert not (tmp_path / "pkg").exists()
