"""What runs code when a model is read, and what a load trusts: hostile files and forged registry rows."""

# ruff: noqa: F811 - tests take the imported fixtures as arguments
from __future__ import annotations

import json
import sqlite3
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import mlgate
from mlgate.errors import IntegrityError, UsageError
from mlgate.flavors.sklearn import unsafe_types
from mlgate.registry.store import Registry
from tests.unit.cli.conftest import Result, data_cli  # noqa: F401 - the CLI fixture, shared
from tests.unit.gates.zoo_models import NanOnLargeTumours


@pytest.fixture
def sqlite_cli(
    data_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Callable[..., Result]:
    """``mlgate`` in-process against a SQLite registry in ``tmp_path`` (the rows are edited by hand here)."""
    monkeypatch.setenv("MLGATE_REGISTRY", f"sqlite:///{tmp_path / 'registry.db'}")
    monkeypatch.setenv("MLGATE_ARTIFACTS", str(tmp_path / "artifacts"))
    with Registry(f"sqlite:///{tmp_path / 'registry.db'}", artifacts=str(tmp_path / "artifacts")) as reg:
        _ = reg.engine  # created as `mlgate init` would: read commands never create a registry
    return data_cli


@pytest.fixture
def reg(tmp_path: Path) -> Any:
    registry = Registry(f"sqlite:///{tmp_path / 'registry.db'}", artifacts=str(tmp_path / "artifacts"))
    yield registry
    registry.close()


def _hostile_skops(tmp_path: Path, sk_model: Any, node: dict[str, Any]) -> Path:
    """A real .skops file of ``sk_model`` whose top-level state gains one extra attribute: ``node``."""
    import skops.io as sio

    good = tmp_path / "good.skops"
    sio.dump(sk_model, good)
    bad = tmp_path / "evil.skops"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "schema.json":
                schema = json.loads(data)
                attrs = schema["content"]
                attrs["content"]["payload"] = node
                # skops pairs each key with a stored key type: give the new key one (str, like the others)
                attrs["key_types"]["content"].append(attrs["key_types"]["content"][0])
                data = json.dumps(schema).encode()
            dst.writestr(item, data)
    return bad


def _call(module: str, name: str, *args: str) -> dict[str, Any]:
    """A skops node that calls ``module.name(*args)`` while loading."""
    items = [{"__class__": "str", "__module__": "builtins", "__loader__": "JsonNode", "content": json.dumps(a),
              "is_json": True, "__id__": 900 + i} for i, a in enumerate(args)]  # fmt: skip
    return {
        "__class__": name,
        "__module__": module,
        "__loader__": "ConstructorFromReduceNode",
        "content": {"__class__": "tuple", "__module__": "builtins", "__loader__": "TupleNode", "content": items},
        "__id__": 999,
    }


def _register(cli: Callable[..., Result], path: Path, tmp_path: Path, breast_cancer: Any, *extra: str) -> Result:
    X, _ = breast_cancer
    sample = tmp_path / "sample.csv"
    X.head(5).to_csv(sample, index=False)
    return cli("model", "register", str(path), "--name", "bc", "--sample", str(sample), *extra)


@pytest.mark.parametrize(
    ("module", "name", "code"),
    [
        ("builtins", "exec", "__import__('pathlib').Path({marker!r}).write_text('pwned')"),
        ("builtins", "eval", "__import__('os').system('touch ' + {marker!r})"),
    ],
)
def test_skops_calling_a_builtin_is_refused_and_never_runs(
    sqlite_cli: Callable[..., Result],
    tmp_path: Path,
    sk_model: Any,
    breast_cancer: Any,
    module: str,
    name: str,
    code: str,
) -> None:
    marker = tmp_path / "pwned"
    evil = _hostile_skops(tmp_path, sk_model, _call(module, name, code.format(marker=str(marker))))
    r = _register(sqlite_cli, evil, tmp_path, breast_cancer)
    assert r.code == 2, r.err
    assert f"{module}.{name}" in r.err and "--allow-pickle" in r.err and "Traceback" not in r.err
    assert not marker.exists(), "the payload ran without consent"
    assert sqlite_cli("model", "list", "--json").json() == []


def test_skops_calling_a_library_function_is_refused(
    sqlite_cli: Callable[..., Result], tmp_path: Path, sk_model: Any, breast_cancer: Any
) -> None:
    # a function of an otherwise trusted library, called with stored arguments, is not data
    target = tmp_path / "written.npy"
    evil = _hostile_skops(tmp_path, sk_model, _call("numpy", "save", str(target), "x"))
    r = _register(sqlite_cli, evil, tmp_path, breast_cancer)
    assert r.code == 2 and "numpy.save" in r.err
    assert not target.exists()


def test_skops_payload_runs_only_with_consent_and_is_recorded(
    sqlite_cli: Callable[..., Result], tmp_path: Path, sk_model: Any, breast_cancer: Any
) -> None:
    marker = tmp_path / "consented"
    payload = f"__import__('pathlib').Path({str(marker)!r}).write_text('x')"
    evil = _hostile_skops(tmp_path, sk_model, _call("builtins", "exec", payload))
    r = _register(sqlite_cli, evil, tmp_path, breast_cancer, "--allow-pickle", "--json")
    assert r.code == 0, r.err
    assert marker.exists()  # the user said yes


def test_data_types_are_trusted_and_callables_are_not() -> None:
    data = ["builtins.dict", "builtins.slice", "builtins.frozenset", "sklearn.tree._tree.Tree", "numpy.ndarray",
            "numpy.dtype", "scipy.sparse._csr.csr_matrix", "collections.OrderedDict",
            "sklearn.linear_model._logistic.LogisticRegression"]  # fmt: skip
    assert unsafe_types(data) == []
    code = ["builtins.exec", "builtins.eval", "builtins.getattr", "builtins.__import__", "builtins.open",
            "builtins.type", "operator.attrgetter", "functools.partial", "os.system", "collections.namedtuple",
            "numpy.save", "numpy.load",
            "numpy.memmap", "sklearn.utils.parallel.delayed", "sklearn.datasets.fetch_openml",
            "numpy.f2py.__main__.main", "sklearn.nothing.Here", "sklearn"]  # fmt: skip
    assert unsafe_types(code) == sorted(code)


def test_plain_sklearn_file_needs_no_consent(
    sqlite_cli: Callable[..., Result], tmp_path: Path, breast_cancer: Any
) -> None:
    import skops.io as sio
    from sklearn.ensemble import RandomForestClassifier

    X, y = breast_cancer
    path = tmp_path / "forest.skops"
    sio.dump(RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y), path)  # needs sklearn's Tree
    r = _register(sqlite_cli, path, tmp_path, breast_cancer, "--json")
    assert r.code == 0, r.err
    assert r.json()["runs_code"] is False


def _pyfunc_version(reg: Any, breast_cancer: Any) -> Any:
    from sklearn.tree import DecisionTreeClassifier

    X, y = breast_cancer
    inner = DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y)
    return mlgate.log_model(NanOnLargeTumours(inner, 1e9), "wrapped", sample_input=X.head(5), registry=reg)


def test_pyfunc_needs_allow_code(reg: Any, breast_cancer: Any) -> None:
    mv = _pyfunc_version(reg, breast_cancer)
    assert mv.runs_code
    with pytest.raises(UsageError, match=r"(?s)wrapped:1 \(pyfunc\) imports the Python module.*allow_code=True"):
        mlgate.load_model(mv.ref, registry=reg)
    with pytest.raises(UsageError, match="allow_code"):  # accepting pickles is not consent to run a module
        mlgate.load_model(mv.ref, registry=reg, allow_pickle=True)
    with pytest.warns(RuntimeWarning, match="ran code stored in its artifact"):
        model = mlgate.load_model(mv.ref, registry=reg, allow_code=True)
    X, _ = breast_cancer
    assert len(model.predict(X.head(3))) == 3


def test_trust_policy_in_mlgate_yaml_gives_consent(tmp_path: Path, breast_cancer: Any) -> None:
    from mlgate.config import load_settings

    (tmp_path / "mlgate.yaml").write_text(
        f"registry: sqlite:///{tmp_path}/r.db\nartifacts: {tmp_path}/a\ntrust:\n  run_code:\n    models: [wrapped]\n"
    )
    reg = Registry(settings=load_settings(config=tmp_path / "mlgate.yaml"))
    mv = _pyfunc_version(reg, breast_cancer)
    with pytest.warns(RuntimeWarning, match="ran code"):
        mlgate.load_model(mv.ref, registry=reg)
    (tmp_path / "mlgate.yaml").write_text(
        f"registry: sqlite:///{tmp_path}/r.db\nartifacts: {tmp_path}/a\ntrust:\n  run_code:\n    authors: [nobody]\n"
    )
    other = Registry(settings=load_settings(config=tmp_path / "mlgate.yaml"))
    with pytest.raises(UsageError, match=r"trust\.run_code\.models"):
        mlgate.load_model(mv.ref, registry=other)
    reg.close()
    other.close()


def test_pyfunc_module_does_not_run_without_consent(reg: Any, breast_cancer: Any, tmp_path: Path) -> None:
    """The module's top-level code is the payload: it must not be imported before consent."""
    import importlib.util
    import sys

    marker = tmp_path / "imported"
    source = tmp_path / "sneaky_model.py"
    source.write_text(
        "import os\n"
        "if os.environ.get('SNEAKY_MARKER'):\n"
        "    open(os.environ['SNEAKY_MARKER'], 'w').write('ran')\n"
        "class Sneaky:\n"
        "    def predict(self, X):\n"
        "        return [0] * len(X)\n"
    )
    spec = importlib.util.spec_from_file_location("sneaky_model", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["sneaky_model"] = module
    spec.loader.exec_module(module)
    X, _ = breast_cancer
    mv = mlgate.log_model(module.Sneaky(), "sneaky", sample_input=X.head(5), registry=reg)
    import os

    os.environ["SNEAKY_MARKER"] = str(marker)
    try:
        with pytest.raises(UsageError, match="allow_code"):
            mlgate.load_model(mv.ref, registry=reg)
        assert not marker.exists()
    finally:
        del os.environ["SNEAKY_MARKER"]
        sys.modules.pop("sneaky_model", None)


def _edit_row(db: Path, number: int, **values: Any) -> None:
    con = sqlite3.connect(db)
    sets = ", ".join(f"{k} = ?" for k in values)
    args = [json.dumps(v) if isinstance(v, dict) else v for v in values.values()]
    con.execute(f"UPDATE model_versions SET {sets} WHERE number = ?", [*args, number])
    con.commit()
    con.close()


def test_forged_row_is_refused_by_load_and_verify(
    sqlite_cli: Callable[..., Result], tmp_path: Path, breast_cancer: Any
) -> None:
    reg = Registry(f"sqlite:///{tmp_path / 'registry.db'}", artifacts=str(tmp_path / "artifacts"))
    mv = _pyfunc_version(reg, breast_cancer)
    payload = tmp_path / "payload.py"
    marker = tmp_path / "forged-ran"
    payload.write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    forged = {**mv.flavor_config, "code": str(payload)}  # an absolute path outside the artifact
    _edit_row(tmp_path / "registry.db", mv.number, flavor_config=forged, runs_code=0)
    with pytest.raises(IntegrityError, match="flavor_config"):
        mlgate.load_model(mv.ref, registry=reg, allow_code=True)
    assert not marker.exists()
    r = sqlite_cli("model", "verify", mv.ref)
    assert r.code == 3 and "flavor_config" in r.err and "altered" in r.err, r.err
    # the flag alone, cleared
    _edit_row(tmp_path / "registry.db", mv.number, flavor_config=mv.flavor_config, runs_code=0)
    r = sqlite_cli("model", "verify", mv.ref)
    assert r.code == 3 and "runs_code" in r.err, r.err
    with pytest.raises(IntegrityError, match="runs_code"):
        mlgate.load_model(mv.ref, registry=reg)
    _edit_row(tmp_path / "registry.db", mv.number, runs_code=1, flavor="sklearn")
    with pytest.raises(IntegrityError, match="flavor"):
        mlgate.load_model(mv.ref, registry=reg)
    reg.close()


def test_config_path_outside_the_artifact_is_refused(tmp_path: Path) -> None:
    from mlgate.flavors import artifact_file

    root = tmp_path / "artifact"
    root.mkdir()
    assert artifact_file(root, "code/model.py") == (root / "code" / "model.py").resolve()
    for bad in ("/etc/passwd", "../outside.py", "code/../../outside.py"):
        with pytest.raises(IntegrityError, match="outside the model's artifact"):
            artifact_file(root, bad)


def test_unbound_older_version_loads_with_a_warning(
    reg: Any, sk_model: Any, breast_cancer: Any, tmp_path: Path
) -> None:
    """A version without mlgate-model.json (older mlgate, or Registry.register) still loads, flagged."""
    import skops.io as sio

    X, _ = breast_cancer
    folder = tmp_path / "old"
    folder.mkdir()
    sio.dump(sk_model, folder / "model.skops")
    from mlgate.signature import infer_schema

    signature = {"inputs": infer_schema(X.head(5))}
    config = {"serialization": "skops", "file": "model.skops", "trusted_types": [], "feature_names": True}
    mv = reg.register("old", folder, flavor="sklearn", signature=signature, flavor_config=config)
    with pytest.warns(RuntimeWarning, match="no mlgate-model.json"):
        model = mlgate.load_model(mv.ref, registry=reg)
    assert len(model.predict(X.head(2))) == 2
    # without the document the path check still holds
    _edit_row(tmp_path / "registry.db", mv.number, flavor_config={**config, "file": "/etc/passwd"})
    with pytest.warns(RuntimeWarning, match="no mlgate-model.json"), pytest.raises(IntegrityError, match="outside"):
        mlgate.load_model(mv.ref, registry=reg)


def test_serve_refuses_a_pyfunc_version_without_allow_code(
    sqlite_cli: Callable[..., Result], tmp_path: Path, breast_cancer: Any
) -> None:
    reg = Registry(f"sqlite:///{tmp_path / 'registry.db'}", artifacts=str(tmp_path / "artifacts"))
    mv = _pyfunc_version(reg, breast_cancer)
    reg.set_alias(mv.name, "production", mv.number)
    reg.close()
    r = sqlite_cli("serve", "wrapped", "--port", "0")
    assert r.code == 2, r.err
    assert "runs code" in r.err and "--allow-code" in r.err and "Traceback" not in r.err


def test_format_1_document_binds_what_it_holds(reg: Any, sk_model: Any, breast_cancer: Any, tmp_path: Path) -> None:
    """Versions written before runs_code joined the document: the other fields are still bound."""
    import skops.io as sio

    from mlgate.signature import infer_schema

    X, _ = breast_cancer
    folder = tmp_path / "v1"
    folder.mkdir()
    sio.dump(sk_model, folder / "model.skops")
    signature = {"inputs": infer_schema(X.head(5))}
    config = {"serialization": "skops", "file": "model.skops", "trusted_types": [], "feature_names": True}
    doc = {"format": 1, "flavor": "sklearn", "config": config, "signature": signature}
    (folder / "mlgate-model.json").write_text(json.dumps(doc))
    mv = reg.register("v1", folder, flavor="sklearn", signature=signature, flavor_config=config)
    assert len(mlgate.load_model(mv.ref, registry=reg).predict(X.head(2))) == 2
    _edit_row(tmp_path / "registry.db", mv.number, flavor_config={**config, "serialization": "pickle"})
    with pytest.raises(IntegrityError, match="flavor_config"):
        mlgate.load_model(mv.ref, registry=reg, allow_pickle=True)
