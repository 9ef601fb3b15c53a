"""`mlgate package`: the build context, its manifests against the Kubernetes schemas, and serving from it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from mlgate import __version__
from mlgate.cli import main
from mlgate.errors import UsageError
from mlgate.registry.store import Registry
from mlgate.serve.app import VERSION_HEADER
from mlgate.serve.package import _k8s_name, package, serving_closure
from tests.unit.serve.conftest import wait_for_process


def test_the_package_holds_the_verified_version_and_its_server(
    seeded: Any, seeded_registry: Any, tmp_path: Path
) -> None:
    out = tmp_path / "pkg"
    result = package("bc@production", out, registry=seeded_registry)
    original = seeded_registry.get("bc:1")
    assert result.ref == "bc:1" and result.digest == original.digest
    assert {"Dockerfile", "requirements.txt", "entrypoint.sh", "mlgate-package.json"} <= set(result.files)
    assert {"k8s/deployment.yaml", "k8s/service.yaml"} <= set(result.files)
    packed = Registry(f"sqlite:///{out / 'registry' / 'registry.db'}", artifacts=str(out / "registry" / "artifacts"))
    try:
        mv = packed.get("bc@production")
        assert mv.digest == original.digest and mv.signature == original.signature
        assert mv.lineage["packaged_from"]["ref"] == "bc:1"
        packed.materialize(mv, tmp_path / "check")  # every blob verifies
    finally:
        packed.close()
    meta = json.loads((out / "mlgate-package.json").read_text())
    assert meta["digest"] == original.digest and meta["serves"] == "bc@production" and meta["image"] == "bc:1.0.0"
    assert result.image == "bc:1.0.0"
    # only the registry itself: no lock file left over from creating it
    assert sorted(p.name for p in (out / "registry").iterdir()) == ["artifacts", "registry.db"]
    for name in ("deployment.yaml", "service.yaml"):  # every value written out, no &id001 / *id001
        text = (out / "k8s" / name).read_text()
        assert "&id" not in text and "*id" not in text, text
    docker = (out / "Dockerfile").read_text()
    python = ".".join(original.environment["python"].split(".")[:2])
    assert f"FROM python:{python}-slim" in docker and "pip install --no-cache-dir --find-links ./wheels" in docker
    assert "USER 10001" in docker and 'ENTRYPOINT ["/bin/sh", "/app/entrypoint.sh"]' in docker


def test_requirements_are_pinned_from_the_recorded_lock(seeded: Any, seeded_registry: Any, tmp_path: Path) -> None:
    lock = seeded_registry.get("bc:1").environment["distributions"]
    result = package("bc:1", tmp_path / "pkg", registry=seeded_registry)
    text = (tmp_path / "pkg" / "requirements.txt").read_text()
    pins = dict(line.split("==") for line in text.splitlines() if line and not line.startswith("#"))
    # what serving needs, at the versions that trained the model
    for name in ("scikit-learn", "skops", "numpy", "starlette", "uvicorn", "orjson", "prometheus-client"):
        assert pins[name] == lock[name], name
    assert pins["mlgate[serve]"] == lock["mlgate"]
    # narrowed: nothing the server never imports
    assert "pytest" not in pins and "mlflow" not in pins and "hypothesis" not in pins
    assert len(pins) < len(lock) / 2
    full = package("bc:1", tmp_path / "full", registry=seeded_registry, full_lock=True)
    assert set(full.requirements) == set(lock)
    assert result.not_in_lock == []


def test_serving_closure_follows_extras() -> None:
    closure = serving_closure({"mlgate": set(), "uvicorn": {"standard"}})
    assert {"mlgate", "uvicorn", "httptools", "uvloop", "scikit-learn", "numpy", "scipy"} <= closure
    assert "pytest" not in closure and "moto" not in closure
    assert "uvloop" not in serving_closure({"uvicorn": set()})  # only uvicorn[standard] brings it


def test_manifests_validate_against_the_kubernetes_schemas(seeded_registry: Any, tmp_path: Path) -> None:
    kv = pytest.importorskip("kubernetes_validate", reason="kubernetes-validate (bundled schemas) is not installed")
    package("bc:1", tmp_path / "pkg", registry=seeded_registry, image="registry.example/bc:1.0.0")
    docs = {p.name: yaml.safe_load(p.read_text()) for p in (tmp_path / "pkg" / "k8s").glob("*.yaml")}
    for doc in docs.values():
        kv.validate(doc, "1.30.0", strict=True)
    container = docs["deployment.yaml"]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "registry.example/bc:1.0.0"
    assert container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert docs["service.yaml"]["spec"]["selector"] == docs["deployment.yaml"]["spec"]["selector"]["matchLabels"]
    broken = {**docs["service.yaml"], "spec": {**docs["service.yaml"]["spec"], "ports": [{"port": "eighty"}]}}
    with pytest.raises(kv.ValidationError, match="eighty"):
        kv.validate(broken, "1.30.0", strict=True)


def test_k8s_names_are_dns_labels() -> None:
    assert _k8s_name("Fraud_Model.v2") == "fraud-model-v2"
    assert _k8s_name("2fast") == "model-2fast"
    assert len(_k8s_name("x" * 100)) == 63


def test_a_non_empty_folder_is_refused_unless_forced(seeded_registry: Any, tmp_path: Path) -> None:
    out = tmp_path / "pkg"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    with pytest.raises(UsageError, match="is not empty"):
        package("bc:1", out, registry=seeded_registry)
    assert (out / "precious.txt").exists()
    package("bc:1", out, registry=seeded_registry, force=True)
    assert not (out / "precious.txt").exists()


def test_the_entrypoint_serves_from_the_package_folder(
    seeded: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MLGATE_REGISTRY", seeded.url)
    monkeypatch.setenv("MLGATE_ARTIFACTS", str(seeded.artifacts))
    out = tmp_path / "pkg"
    assert main(["package", "bc:2", "--out", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ref"] == "bc:2"
    # the current interpreter stands in for the image's: `mlgate` from this environment, nothing from the outside
    out_text = _serve_from(out, Path(sys.executable).parent, seeded, cwd=tmp_path)
    assert "Traceback" not in out_text, out_text


def _serve_from(out: Path, bin_dir: Path, seeded: Any, *, cwd: Path) -> str:
    """Run the package's entrypoint with ``bin_dir`` first on PATH, predict through it, stop it; its output."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLGATE_", "PYTHON", "VIRTUAL_ENV"))}
    env |= {"PORT": str(port), "HOST": "127.0.0.1", "PATH": f"{bin_dir}{os.pathsep}{env['PATH']}"}
    proc = subprocess.Popen(
        ["/bin/sh", str(out / "entrypoint.sh")],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        recs = json.loads(seeded.X.iloc[:4].to_json(orient="records"))
        ready = lambda: httpx.get(f"http://127.0.0.1:{port}/v2/health/ready").status_code == 200  # noqa: E731
        wait_for_process(proc, ready, "the packaged server")
        r = httpx.post(f"http://127.0.0.1:{port}/predict", json=recs)
        assert r.status_code == 200 and r.headers[VERSION_HEADER] == "bc:2"  # the same number as the source
        assert r.json()["predictions"] == seeded.models[2].predict(seeded.X.iloc[:4]).tolist()
    finally:
        proc.send_signal(signal.SIGINT)
        text, _ = proc.communicate(timeout=30)
    assert proc.returncode in (0, 130), text  # 130: the console script's Ctrl-C
    return text


@pytest.mark.slow  # a fresh virtual environment from the locked requirements: about 40 s (pip's cache warm)
def test_a_fresh_environment_from_the_locked_requirements_serves_the_package(
    seeded: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # what the Dockerfile does, without a Docker engine: a bare Python, the pins, mlgate's wheel from wheels/
    monkeypatch.setenv("MLGATE_REGISTRY", seeded.url)
    monkeypatch.setenv("MLGATE_ARTIFACTS", str(seeded.artifacts))
    out = tmp_path / "pkg"
    assert main(["package", "bc:2", "--out", str(out), "--with-wheel", "--json"]) == 0
    wheels = [f for f in json.loads(capsys.readouterr().out)["files"] if f.endswith(".whl")]
    assert len(wheels) == 1 and wheels[0].startswith("wheels/mlgate-")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    python = venv / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    done = subprocess.run(
        [*pip, "--find-links", str(out / "wheels"), "-r", str(out / "requirements.txt")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # the environment holds exactly the pins (nothing from the development install leaks in)
    frozen = subprocess.run([str(python), "-m", "pip", "freeze"], capture_output=True, text=True, check=True).stdout
    installed = dict(line.lower().split("==", 1) for line in frozen.splitlines() if "==" in line)
    pinned = (out / "requirements.txt").read_text().lower()
    assert installed["mlgate"] == __version__ and "mlgate[serve]==" + installed["mlgate"] in pinned
    assert "pytest" not in installed and "hypothesis" not in installed
    where = subprocess.run(
        [str(python), "-c", "import mlgate; print(mlgate.__file__)"], capture_output=True, text=True, check=True
    )
    assert Path(where.stdout.strip()).is_relative_to(venv)
    text = _serve_from(out, venv / "bin", seeded, cwd=tmp_path)
    assert "Traceback" not in text and "serving bc:2" in text, text
