"""The user's whole path in a real git repository, with the CLI as a user types it (docs/walkthrough.md).

A wine project (scikit-learn's bundled set) with prepare → train → evaluate stages. On SQLite and on
PostgreSQL: main releases v1 to production; a pull request changes a param, and `mlgate ci` validates the
data the prepare stage produced, trains, gates against main's production and posts one comment (to a
local server speaking GitHub's API), updated rather than duplicated on the next push; a smoke run's
version cannot reach production; after the merge, main restores training from the run cache and
promotes the very digest the pull request built; `mlgate serve` follows production through a promote
and a rollback. Then PostgreSQL + S3 (a local moto server) with committed data and two clones sharing
both: clone B runs its stages on a local Ray, clone A restores them without training again, and every
version lands in the shared registry, never in a clone's `.mlgate/registry.db`.
tests/e2e/test_ci.py covers the failing pull request; tests/docs runs the README's Python snippet.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.unit.ci.forge_fake import WRITE_TOKEN, fake_github

BIN = Path(sys.executable).parent
GIT = ["git", "-c", "user.name=walkthrough", "-c", "user.email=walkthrough@mlgate.invalid"]
PY = sys.executable  # Ray workers inherit the pytest process's PATH, which need not hold the venv

PREPARE = """\
import pathlib

import pandas as pd

raw = pd.read_csv("data/raw/wine.csv")
test = raw.index % 3 == 0
pathlib.Path("data").mkdir(exist_ok=True)
raw[~test].to_csv("data/train.csv", index=False)
raw[test].to_csv("data/test.csv", index=False)
"""
TRAIN = """\
import os

import pandas as pd
import yaml
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mlgate

params_file = os.environ.get("MLGATE_PARAMS_FILE", "params.yaml")
params = yaml.safe_load(open(params_file))["train"]
train = pd.read_csv("data/train.csv")
X, y = train.drop(columns=["target"]), train["target"]
model = make_pipeline(StandardScaler(), LogisticRegression(C=params["C"], max_iter=params["max_iter"])).fit(X, y)
mv = mlgate.log_model(model, "wine", sample_input=X.head(5), data=["data/train.csv"], params=params_file)
open("model.ref", "w").write(mv.ref)
print(f"registered {mv.ref} {mv.digest}")
"""
EVALUATE = """\
import json

import pandas as pd

import mlgate

test = pd.read_csv("data/test.csv")
model = mlgate.load_model(open("model.ref").read())
accuracy = float((model.predict(test.drop(columns=["target"])) == test["target"]).mean())
json.dump({"accuracy": round(accuracy, 6)}, open("metrics.json", "w"))
"""
CONFIG = """\
project: wine
registry: sqlite:///.mlgate/registry.db
artifacts: .mlgate/artifacts
model: {{name: wine, flavor: sklearn}}
data: {{train: data/train.csv, eval: data/test.csv, target: target, schema: mlgate.schema.yaml}}
stages:
{prepare}  train:
    cmd: {py} train.py
    deps: [train.py, data/train.csv]
    params: [train]
    outs: [model.ref]
  evaluate:
    cmd: {py} evaluate.py
    deps: [evaluate.py, model.ref, data/test.csv]
    metrics: [metrics.json]
gates:
  - {{metric: accuracy, min: 0.85}}
  - {{metric: accuracy, vs: production, max_drop: 0.1}}
"""
PREPARE_STAGE = f"""\
  prepare:
    cmd: {PY} prepare.py
    deps: [prepare.py, data/raw]
    outs: [data/train.csv, data/test.csv]
"""
PARAMS = "train:\n  C: 0.5\n  max_iter: 2000\nsmoke:\n  train: {max_iter: 50}\n"


def git(root: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=root, check=True, capture_output=True, text=True).stdout


def mlgate(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``mlgate ARGS`` from the venv's console script, in ``root``, as a user's shell runs it."""
    return subprocess.run([str(BIN / "mlgate"), *args], cwd=root, env=env, capture_output=True, text=True, timeout=300)


def user_env(**extra: str) -> dict[str, str]:
    """The outside environment without mlgate, GitHub or Ray settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLGATE_", "GITHUB_", "RAY_"))}
    env.update(MLGATE_ACTOR="walkthrough", COLUMNS="200", **extra)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def ok(proc: subprocess.CompletedProcess[str], code: int = 0) -> str:
    assert proc.returncode == code, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def make_project(root: Path, *, produced: bool) -> None:
    """The wine project as a first commit on main; ``produced``: a prepare stage writes train/test.csv."""
    from sklearn.datasets import load_wine

    frame = load_wine(as_frame=True).frame
    frame.columns = [c.replace("/", "_") for c in frame.columns]  # od280/od315_of_diluted_wines
    (root / "data" / "raw").mkdir(parents=True)
    frame.to_csv(root / "data" / "raw" / "wine.csv", index=False)
    for name, text in {"train.py": TRAIN, "evaluate.py": EVALUATE, "params.yaml": PARAMS}.items():
        (root / name).write_text(text, encoding="utf-8")
    ignore = ["/.mlgate/", "/out/", "model.ref", "metrics.json", "mlgate.lock", "mlgate-report/"]
    if produced:
        (root / "prepare.py").write_text(PREPARE, encoding="utf-8")
        ignore += ["/data/train.csv", "/data/test.csv"]
    else:  # committed data: the same split, checked in
        test = frame.index % 3 == 0
        frame[~test].to_csv(root / "data" / "train.csv", index=False)
        frame[test].to_csv(root / "data" / "test.csv", index=False)
    config = CONFIG.format(prepare=PREPARE_STAGE if produced else "", py=PY)
    (root / "mlgate.yaml").write_text(config, encoding="utf-8")
    (root / ".gitignore").write_text("\n".join(ignore) + "\n", encoding="utf-8")
    schema = ["data", "schema", "infer", "data/raw/wine.csv", "--target", "target", "--slack", "0.1"]
    ok(mlgate(root, *schema, env=user_env()))
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "wine project")


def show(root: Path, ref: str, env: dict[str, str]) -> dict[str, Any]:
    return json.loads(ok(mlgate(root, "model", "show", ref, "--json", env=env)))


def gated(stdout: str) -> str:
    """The candidate named by ``mlgate ci``'s gate line (``gate: wine:2, …``)."""
    return stdout.split("gate: ", 1)[1].split(",", 1)[0].split()[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def until(what: str, check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out after {timeout:g} s waiting until {what}"
        time.sleep(0.2)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_pull_request_to_production_and_serving(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    import httpx
    import pandas as pd

    root = tmp_path / "wine"
    root.mkdir()
    make_project(root, produced=True)
    shared = {"MLGATE_REGISTRY": request.getfixturevalue("postgres_url")} if backend == "postgres" else {}
    env = user_env(**shared)

    # main's first release: no production yet, so the change gates are skipped and v1 goes to production
    first = ok(
        mlgate(root, "ci", "--no-smoke", "--promote-to", "production", "--report", "out/main/report.md", env=env)
    )
    assert (
        "data validation: 2 file(s)" in first
        and "No production version yet" in (root / "out/main/report.md").read_text()
    )
    v1 = show(root, "wine@production", env)

    # a pull request: another C; its report is one comment on the pull request, updated on every push
    git(root, "checkout", "-q", "-b", "tune-c")
    (root / "params.yaml").write_text(PARAMS.replace("C: 0.5", "C: 2.0"), encoding="utf-8")
    git(root, "commit", "-q", "-am", "C=2.0")
    with fake_github() as gh:
        pr = user_env(
            **shared, GITHUB_API_URL=gh.url, GITHUB_REPOSITORY="acme/wine", GITHUB_REF="refs/pull/7/merge",
            GITHUB_TOKEN=WRITE_TOKEN,
        )  # fmt: skip
        # the smoke run trains cheaply and is gated, but its version cannot reach production
        smoke = mlgate(
            root, "ci", "--base", "main", "--promote-to", "production", "--report", "out/smoke/report.md", env=pr
        )
        ok(smoke, 1)
        assert "--no-smoke" in smoke.stdout, smoke.stdout
        assert show(root, "wine@production", env)["digest"] == v1["digest"]
        full = ok(mlgate(root, "ci", "--no-smoke", "--base", "main", "--report", "out/pr/report.md", env=pr))
        comments = gh.comments[("acme/wine", 7)]
    report = (root / "out" / "pr" / "report.md").read_text()
    assert "data validation: 2 file(s)" in full, "train.csv and test.csv, as the prepare stage wrote them"
    assert "registered by stage 'train' of this run: passed" in full and "# mlgate ci: ✅ passed" in report
    assert f"wine:{v1['number']}" in report, "gated against main's production"
    assert "### Metrics against `main`" in report and "`metrics.json:accuracy`" in report
    assert len(comments) == 1 and "# mlgate ci: ✅ passed" in comments[0]["body"], "one comment, updated"
    built = show(root, gated(full), env)
    assert built["lineage"]["params"]["train"]["C"] == 2.0 and not built["lineage"].get("smoke")

    # the merge: main restores training from the run cache and promotes the version the pull request built
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--no-ff", "-m", "Merge pull request #7 from tune-c", "tune-c")
    release = ok(
        mlgate(root, "ci", "--no-smoke", "--promote-to", "production", "--report", "out/release/report.md", env=env)
    )
    assert "pipeline: 3 cached" in release and f"gate: {gated(full)}, restored from the run cache" in release, release
    assert show(root, "wine@production", env)["digest"] == built["digest"]

    # serving follows production: a promote and a rollback move what answers /predict
    port = free_port()
    serve = [str(BIN / "mlgate"), "serve", "wine", "--port", str(port), "--poll", "0.2", "--no-log"]
    proc = subprocess.Popen(serve, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    rows = pd.read_csv(root / "data" / "test.csv").drop(columns=["target"]).head(3).to_dict(orient="records")

    def served() -> str:
        try:
            r = httpx.post(f"{base}/predict", json=rows, timeout=5)
        except httpx.TransportError:
            return ""
        return r.headers.get("x-mlgate-model-version", "") if r.status_code == 200 else ""

    try:
        until("the server answers", lambda: served() != "", timeout=90)
        answer = httpx.post(f"{base}/predict", json=rows, timeout=5).json()
        assert len(answer["predictions"]) == 3 and set(answer["predictions"]) <= {0, 1, 2}
        assert served() == f"wine:{built['number']}"
        ok(mlgate(root, "rollback", "wine", "--reason", "walkthrough", env=env))
        until(f"v{v1['number']} is served", lambda: served() == f"wine:{v1['number']}")
        ok(mlgate(root, "promote", gated(full), "--to", "production", "--reason", "back again", env=env))
        until(f"v{built['number']} is served", lambda: served() == f"wine:{built['number']}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
    if backend == "postgres":
        assert not (root / ".mlgate" / "registry.db").exists(), "the PostgreSQL run left nothing in the local registry"


@pytest.mark.postgres
def test_two_clones_share_a_postgres_registry_and_an_s3_cache_one_running_on_ray(
    tmp_path: Path, postgres_url: str, s3_location: tuple[str, str], ray_local: Any
) -> None:
    origin = tmp_path / "origin"
    origin.mkdir()
    make_project(origin, produced=False)  # committed data this time
    clone_a, clone_b = tmp_path / "clone-a", tmp_path / "clone-b"
    git(tmp_path, "clone", "-q", str(origin), str(clone_a))
    git(tmp_path, "clone", "-q", str(origin), str(clone_b))
    artifacts, endpoint = s3_location
    env = user_env(MLGATE_REGISTRY=postgres_url, MLGATE_ARTIFACTS=artifacts, MLGATE_S3_ENDPOINT_URL=endpoint)

    # clone B runs its stages as tasks on a Ray cluster (the session's local one). Ray may start it with
    # token authentication (RAY_AUTH_MODE=token, the token in ~/.ray/auth_token): the client needs that mode too
    address = ray_local.get_runtime_context().gcs_address
    ray_env = {**env, "RAY_ADDRESS": address, "RAY_AUTH_MODE": os.environ.get("RAY_AUTH_MODE", "disabled")}
    ran = json.loads(ok(mlgate(clone_b, "run", "--executor", "ray", "--json", env=ray_env)))
    assert ran["executor"] == "ray" and [(s["name"], s["outcome"]) for s in ran["stages"]] == [
        ("train", "ran"),
        ("evaluate", "ran"),
    ], ran
    versions = json.loads(ok(mlgate(clone_b, "model", "list", "wine", "--all", "--json", env=env)))
    assert len(versions) == 1, versions
    built = show(clone_b, f"wine:{versions[0]['number']}", env)
    assert built["lineage"]["run_id"] == ran["run_id"], "the version names the Ray run that trained it"

    # clone A: the same commit through `mlgate ci` restores both stages from S3 and gates B's version
    release = ok(mlgate(clone_a, "ci", "--no-smoke", "--promote-to", "staging", "--report", "out/report.md", env=env))
    assert "data validation: 2 file(s)" in release, "the committed train.csv and test.csv"
    assert "pipeline: 2 cached" in release, "train and evaluate restored from S3, not run again"
    assert f"gate: wine:{built['number']}, restored from the run cache" in release, release
    assert show(clone_a, "wine@staging", env)["digest"] == built["digest"]
    after = json.loads(ok(mlgate(clone_a, "model", "list", "wine", "--all", "--json", env=env)))
    assert [v["number"] for v in after] == [built["number"]], "clone A trained nothing"
    assert json.loads((clone_a / "metrics.json").read_text()) == json.loads((clone_b / "metrics.json").read_text())
    for clone in (clone_a, clone_b):
        assert not (clone / ".mlgate" / "registry.db").exists(), f"{clone.name} has a registry of its own"
        assert not (clone / ".mlgate" / "artifacts").exists(), f"{clone.name} stored artifacts locally"


def test_a_client_without_the_clusters_token_is_told_to_set_ray_auth_mode(tmp_path: Path, ray_local: Any) -> None:
    if os.environ.get("RAY_AUTH_MODE") != "token":
        pytest.skip("this Ray started without token authentication")
    root = tmp_path / "p"
    root.mkdir()
    (root / "mlgate.yaml").write_text("stages:\n  s:\n    cmd: touch x\n    outs: [x]\n", encoding="utf-8")
    env = user_env(RAY_ADDRESS=ray_local.get_runtime_context().gcs_address)  # no RAY_AUTH_MODE, as a user forgets
    proc = mlgate(root, "run", "--executor", "ray", env=env)
    assert proc.returncode == 3 and not (root / "x").exists(), proc.stdout + proc.stderr
    assert "RAY_AUTH_MODE=token" in proc.stderr.splitlines()[-1], proc.stderr[-600:]
