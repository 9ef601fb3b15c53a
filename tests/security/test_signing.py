"""Ed25519 signatures: keygen, sign, verification on load, in `mlgate model verify` and on promotion."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import mlgate
from mlgate.cli import main
from mlgate.config import load_settings
from mlgate.errors import CheckFailed, ConfigError, IntegrityError, UsageError
from mlgate.registry.store import Registry
from mlgate.signing import generate_key, sign, signatures, verify_signatures
from tests.unit.cli.conftest import Result

pytest.importorskip("cryptography")


def _project(tmp_path: Path, policy: str = "") -> Path:
    config = tmp_path / "mlgate.yaml"
    config.write_text(
        f"registry: sqlite:///{tmp_path}/registry.db\nartifacts: {tmp_path}/artifacts\n"
        f"promote: {{protected: []}}\n{policy}"
    )
    return config


@pytest.fixture
def project(tmp_path: Path, sk_model: Any, breast_cancer: Any) -> Any:
    """A project with two versions and a key pair (release.key / release.key.pub)."""
    private, public = generate_key(tmp_path / "release.key")
    _project(tmp_path)
    reg = Registry(settings=load_settings(config=tmp_path / "mlgate.yaml"))
    X, _ = breast_cancer
    mlgate.log_model(sk_model, "bc", sample_input=X.head(5), registry=reg)
    mlgate.log_model(sk_model, "bc", sample_input=X.head(5), tags={"n": "2"}, registry=reg)
    yield reg, private, public
    reg.close()


def _policy(tmp_path: Path, public: Path, require: str = "[production]") -> Registry:
    _project(tmp_path, f"trust:\n  keys:\n    release: {public.name}\n  run_code: {{}}\n")
    text = (tmp_path / "mlgate.yaml").read_text().replace("promote: {protected: []}", "")
    (tmp_path / "mlgate.yaml").write_text(text + f"promote:\n  protected: []\n  require_signature: {require}\n")
    return Registry(settings=load_settings(config=tmp_path / "mlgate.yaml"))


def test_keygen_writes_a_private_key_only_its_owner_reads(tmp_path: Path) -> None:
    private, public = generate_key(tmp_path / "k")
    assert private.stat().st_mode & 0o777 == 0o600
    assert len(public.read_text().strip()) == 44  # base64 of 32 bytes
    with pytest.raises(UsageError, match="already exists"):
        generate_key(tmp_path / "k")


def test_signed_version_verifies_and_a_tampered_signature_is_refused(project: Any, tmp_path: Path) -> None:
    reg, private, _ = project
    sig = sign(reg, "bc:1", private)
    mv = reg.get("bc:1")
    assert [s.valid for s in signatures(reg, mv)] == [True] and sig.digest == mv.digest
    mlgate.load_model("bc:1", registry=reg)  # a valid signature loads without any policy
    con = sqlite3.connect(tmp_path / "registry.db")
    (doc,) = con.execute("SELECT new FROM version_events WHERE field = 'signature'").fetchone()
    forged = json.loads(doc)
    forged["digest"] = reg.get("bc:2").digest  # move the signature to another version
    con.execute("UPDATE version_events SET new = ? WHERE field = 'signature'", [json.dumps(forged)])
    con.commit()
    con.close()
    with pytest.raises(IntegrityError, match="does not verify"):
        mlgate.load_model("bc:1", registry=reg)


def test_required_signature_gates_promotion_load_and_serve(project: Any, tmp_path: Path) -> None:
    _, private, public = project
    strict = _policy(tmp_path, public)
    with pytest.raises(CheckFailed, match=r"no signature by a key accepted for bc@production \(accepted: release\)"):
        mlgate.promote("bc:1", to="production", settings=strict.settings, registry=strict)
    other, _ = generate_key(tmp_path / "stranger.key")
    sign(strict, "bc:1", other)  # a valid signature by a key nobody listed
    with pytest.raises(CheckFailed, match="accepted: release"):
        mlgate.promote("bc:1", to="production", settings=strict.settings, registry=strict)
    mine = sign(strict, "bc:1", private)
    event = mlgate.promote("bc:1", to="production", settings=strict.settings, registry=strict)
    assert event.to_number == 1 and event.signer == mine.key_id
    assert strict.history("bc", "production")[-1].signer == mine.key_id  # the signer is on the alias event
    accepted = verify_signatures(strict, strict.get("bc:1"), alias="production")
    assert accepted is not None and accepted.key_id == mine.key_id
    mlgate.load_model("bc@production", registry=strict)
    # an unsigned version pointed at production by the low-level primitive is still refused on load
    strict.set_alias("bc", "production", 2)
    with pytest.raises(CheckFailed, match="no signature"):
        mlgate.load_model("bc@production", registry=strict)
    mlgate.load_model("bc:2", registry=strict)  # by number, no alias requirement applies
    strict.close()


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    code = main(list(args))
    out = capsys.readouterr()
    return Result(code, out.out, out.err)


def test_cli_sign_verify_and_serve_refuse_unsigned(
    project: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, private, public = project
    strict = _policy(tmp_path, public)
    strict.set_alias("bc", "production", 1)
    monkeypatch.chdir(tmp_path)
    cli: Callable[..., Result] = lambda *a: _cli(capsys, *a)  # noqa: E731
    r = cli("model", "verify", "bc@production")
    assert r.code == 1 and "no signature" in r.err and "mlgate model sign" in r.err
    r = cli("serve", "bc", "--port", "0")
    assert r.code == 1 and "no signature" in r.err, r.err
    r = cli("model", "sign", "bc:1", "--key", str(private), "--json")
    assert r.code == 0, r.err
    assert r.json()["valid"] is True
    r = cli("model", "verify", "bc@production")
    assert r.code == 0 and "accepted for bc@production" in r.out, r.err
    r = cli("model", "sign", "bc:1", "--key", str(tmp_path / "missing.key"))
    assert r.code == 2 and "does not exist" in r.err
    strict.close()


def test_bad_policy_names_the_key(tmp_path: Path, project: Any) -> None:
    _ = project
    (tmp_path / "mlgate.yaml").write_text(
        f"registry: sqlite:///{tmp_path}/registry.db\nartifacts: {tmp_path}/artifacts\n"
        "trust:\n  keys:\n    release: not-a-key\npromote:\n  require_signature: [production]\n"
    )
    bad = Registry(settings=load_settings(config=tmp_path / "mlgate.yaml"))
    with pytest.raises(ConfigError, match=r"mlgate\.yaml:5.*neither a base64 ed25519 public key"):
        verify_signatures(bad, bad.get("bc:1"), alias="production")
    bad.close()


def test_register_signs_with_sign_key(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    sk_model: Any,
    breast_cancer: Any,
) -> None:
    import skops.io as sio

    private, _ = generate_key(tmp_path / "k")
    _project(tmp_path)
    monkeypatch.chdir(tmp_path)
    X, _ = breast_cancer
    sio.dump(sk_model, tmp_path / "m.skops")
    X.head(5).to_csv(tmp_path / "s.csv", index=False)
    r = _cli(capsys, "model", "register", "m.skops", "-n", "bc", "--sample", "s.csv", "--sign-key", str(private))
    assert r.code == 0 and "signed with key" in r.out, r.err
    reg = Registry(settings=load_settings(config=tmp_path / "mlgate.yaml"))
    assert [s.valid for s in signatures(reg, reg.get("bc:1"))] == [True]
    reg.close()
