"""``mlgate model …``: register, list, show, history, tag, describe, verify, keygen, sign."""

from __future__ import annotations

from pathlib import Path

import typer

from mlgate.cli._common import console, print_json, printable, registry, short_digest, when

app = typer.Typer(help="Register and inspect model versions.", no_args_is_help=True, rich_markup_mode=None)


@app.command("register")
def register(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="The saved model file (.skops, .joblib, .onnx, .pt, .ubj, .txt …)."),
    name: str = typer.Option(..., "--name", "-n", help="Model name, e.g. fraud."),
    flavor: str | None = typer.Option(None, "--flavor", help="Force a flavor instead of detecting it."),
    data: list[str] = typer.Option([], "--data", help="Training data files or folders (digests are recorded)."),
    params: str | None = typer.Option(None, "--params", help="Params file (YAML or JSON) used for training."),
    version: str | None = typer.Option(None, "--version", help="Semantic version MAJOR.MINOR.PATCH (default: auto)."),
    sample: Path | None = typer.Option(None, "--sample", help="A few input rows (.csv/.parquet/.jsonl/.npy)."),
    tag: list[str] = typer.Option([], "--tag", help="KEY=VALUE, repeatable."),
    description: str | None = typer.Option(None, "--description", help="Free text."),
    run_id: str | None = typer.Option(None, "--run-id", help="The pipeline run that produced the model."),
    allow_pickle: bool = typer.Option(
        False, "--allow-pickle", help="Accept pickle/joblib files and .skops files needing code (runs code)."
    ),
    sign_key: Path | None = typer.Option(
        None, "--sign-key", help="Sign the new version with this ed25519 private key (see `mlgate model keygen`)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the new version as JSON."),
) -> None:
    """Register a saved model as a new immutable version, with lineage and environment."""
    from mlgate.loaders import read_model_file, sample_from
    from mlgate.models import log_model

    tags = _parse_tags(tag)
    obj, implied = read_model_file(path, flavor=flavor, allow_pickle=allow_pickle)
    sample_input = sample_from(obj, sample, data)
    mv = log_model(
        obj,
        name,
        sample_input=sample_input,
        data=data or None,
        params=params,
        tags=tags,
        version=version,
        flavor=flavor or implied,
        description=description,
        run_id=run_id,
        registry=registry(ctx, create=True),  # registering may start the default registry
    )
    signed = None
    if sign_key is not None:
        from mlgate.signing import sign as sign_version

        signed = sign_version(registry(ctx), mv.ref, sign_key)
    if as_json:
        print_json({**mv.to_dict(), **({"signed_by": signed.key_id} if signed else {})})
        return
    console().print(
        f"[green]registered[/] [bold]{mv.ref}[/] ({mv.semver}) {mv.flavor} {short_digest(mv.digest)} "
        f"{_size(mv.size_bytes)}" + (f", signed with key {signed.key_id}" if signed else "")
    )


def _parse_tags(items: list[str]) -> dict[str, str]:
    from mlgate.errors import UsageError

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"tag {item!r} must look like KEY=VALUE")
        out[key] = value
    return out


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


@app.command("list")
def list_(
    ctx: typer.Context,
    name: str | None = typer.Argument(None, help="List this model's versions instead of all models."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    show_all: bool = typer.Option(False, "--all", help="Also list the versions smoke runs registered."),
) -> None:
    """List models, or the versions of one model (smoke runs' versions only with --all)."""
    from rich.table import Table

    reg = registry(ctx)
    if name is None:
        summaries = reg.models()
        if as_json:
            print_json([s.to_dict() for s in summaries])
            return
        table = Table(title="models")
        for col in ("name", "versions", "latest", "aliases"):
            table.add_column(col)
        for s in summaries:
            latest = f"{s.latest.number} ({s.latest.semver})" if s.latest else "-"
            table.add_row(s.name, str(s.versions), latest, ", ".join(f"{a}→{n}" for a, n in s.aliases.items()))
        console().print(table if summaries else "no models registered yet")
        return
    from mlgate.registry.store import SMOKE_STATUS

    versions = reg.versions(name)
    hidden = 0 if show_all else sum(v.status == SMOKE_STATUS for v in versions)
    if hidden:
        versions = [v for v in versions if v.status != SMOKE_STATUS]
    if as_json:
        print_json([v.to_dict() for v in versions])
        return
    table = Table(title=f"versions of {name}")
    for col in ("#", "semver", "status", "flavor", "digest", "size", "aliases", "created", "by"):
        table.add_column(col)
    for v in versions:
        table.add_row(
            str(v.number),
            v.semver,
            v.status + (" ⚠ runs code" if v.runs_code else ""),
            v.flavor,
            short_digest(v.digest),
            _size(v.size_bytes),
            ", ".join(v.aliases),
            when(v.created_at),
            v.created_by,
        )
    console().print(table)
    if hidden:
        console().print(f"{hidden} version(s) from smoke runs not shown (--all lists them)")


@app.command("show")
def show(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="fraud, fraud:7, fraud:1.4.0 or fraud@production."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    full: bool = typer.Option(False, "--full", help="Include the file manifest and the full environment lock."),
) -> None:
    """Show one version: identity, signature, lineage, environment, tags."""
    mv = registry(ctx).get(ref)
    if as_json:
        print_json(mv.to_dict(full=full))
        return
    from rich.table import Table

    t = Table(show_header=False, title=f"{mv.ref}  {mv.semver}")
    t.add_column(style="bold")
    t.add_column()
    git = mv.lineage.get("git") or {}
    rows = [
        ("digest", mv.digest),
        ("status", mv.status + ("  (loading runs code stored in the artifact)" if mv.runs_code else "")),
        ("flavor", mv.flavor),
        ("size", _size(mv.size_bytes)),
        ("aliases", ", ".join(mv.aliases) or "-"),
        ("created", f"{when(mv.created_at)} by {mv.created_by}"),
        ("inputs", _schema(mv.signature.get("inputs", {}))),
        ("outputs", _schema(mv.signature.get("outputs", {}))),
        (
            "git",
            f"{git.get('commit', '-')[:12]}{' (dirty)' if git.get('dirty') else ''}" if git else "not a git repo",
        ),
        ("data", "\n".join(f"{printable(k)}  {short_digest(v)}" for k, v in mv.lineage.get("data", {}).items()) or "-"),
        ("params", ", ".join(f"{k}={v}" for k, v in (mv.lineage.get("params") or {}).items()) or "-"),
        ("run", mv.lineage.get("run_id") or "-"),
        ("python", mv.environment.get("python", "-")),
        ("packages", ", ".join(f"{k} {v}" for k, v in mv.environment.get("packages", {}).items()) or "-"),
        ("tags", ", ".join(f"{printable(k)}={printable(v)}" for k, v in mv.tags.items()) or "-"),
        ("description", printable(mv.description, newlines=True) if mv.description else "-"),
    ]
    for k, v in rows:
        # stored text is escaped; only the tags and description rows, escaped above, keep their brackets
        t.add_row(k, v if k in ("data", "tags", "description") else printable(v, newlines=True))
    console().print(t)


def _schema(spec: dict) -> str:
    if spec.get("type") == "columns":
        cols = spec["columns"]
        shown = ", ".join(f"{c['name']}:{c['dtype']}" for c in cols[:6])
        return f"{len(cols)} columns: {shown}{' …' if len(cols) > 6 else ''}"
    if spec.get("type") == "tensor":
        return f"tensor {spec.get('dtype')} {spec.get('shape')}"
    return str(spec) if spec else "-"


@app.command("history")
def history(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Model name."),
    alias: str | None = typer.Option(None, "--alias", "-a", help="Only this alias."),
    at: str | None = typer.Option(None, "--at", help="ISO time: which version held --alias then."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Alias moves of a model, oldest first; with --at, the holder of an alias at that time."""
    from mlgate.errors import UsageError

    reg = registry(ctx)
    if at is not None:
        if alias is None:
            raise UsageError("--at needs --alias (which alias to look up)")
        mv = reg.alias_at(name, alias, at)
        if as_json:
            print_json({"alias": alias, "at": at, "version": mv.to_dict() if mv else None})
        elif mv is None:
            console().print(f"{name}@{alias} did not exist at {at}")
        else:
            console().print(f"{name}@{alias} at {at}: [bold]{mv.ref}[/] ({short_digest(mv.digest)})")
        return
    events = reg.history(name, alias)
    if as_json:
        print_json([e.to_dict() for e in events])
        return
    from rich.table import Table

    t = Table(title=f"alias history of {name}" + (f"@{alias}" if alias else ""))
    for col in ("time", "alias", "from", "to", "kind", "actor", "reason"):
        t.add_column(col)
    for e in events:
        kind = e.kind + (" (forced)" if e.forced else "") + (f" (signed {e.signer})" if e.signer else "")
        t.add_row(
            when(e.created_at),
            e.alias,
            str(e.from_number or "-"),
            str(e.to_number or "-"),
            kind,
            printable(e.actor),
            printable(e.reason or ""),  # free text from whoever moved the alias
        )
    console().print(t if events else f"no alias of {name} has been set yet")


@app.command("tag")
def tag(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="Version reference."),
    tags: list[str] = typer.Argument(None, help="KEY=VALUE pairs to set."),
    remove: list[str] = typer.Option([], "--remove", help="Tag keys to remove."),
    as_json: bool = typer.Option(False, "--json", help="Print the version's tags as JSON."),
) -> None:
    """Set or remove tags on a version (every change is recorded)."""
    reg = registry(ctx)
    pairs = _parse_tags(tags or [])
    mv = reg.get(ref)
    for k, v in pairs.items():
        mv = reg.set_tag(ref, k, v)
    for k in remove:
        mv = reg.set_tag(ref, k, None)
    if as_json:
        print_json(mv.tags)
        return
    console().print(
        f"{mv.ref} tags: " + (", ".join(f"{printable(k)}={printable(v)}" for k, v in mv.tags.items()) or "none")
    )


@app.command("describe")
def describe(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="Version reference."),
    text: str = typer.Argument(..., help="The new description."),
) -> None:
    """Replace a version's description (the change is recorded)."""
    mv = registry(ctx).set_description(ref, text)
    console().print(f"{mv.ref} description updated")


@app.command("events")
def events(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="Version reference."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Changes to a version's tags, description and status."""
    evs = registry(ctx).version_history(ref)
    if as_json:
        print_json([e.to_dict() for e in evs])
        return
    from rich.table import Table

    t = Table(title=f"changes of {ref}")
    for col in ("time", "field", "key", "old", "new", "actor"):
        t.add_column(col)
    for e in evs:
        t.add_row(
            when(e.created_at),
            e.field,
            printable(e.key or ""),
            printable(e.old or ""),
            printable(e.new or ""),
            printable(e.actor),
        )
    console().print(t if evs else f"{ref} has no recorded changes")


@app.command("verify")
def verify(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="Version reference."),
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as JSON."),
) -> None:
    """Re-read every file of a version, check it against its digest, and check its signatures."""
    from mlgate.registry.store import METADATA_FILE
    from mlgate.signing import verify_signatures

    reg = registry(ctx)
    mv = reg.verify(ref)
    accepted = verify_signatures(reg, mv, alias=_alias_of(ref))
    if as_json:  # reached only when everything verified: a mismatch raises (exit 3) before this
        print_json(
            {
                "ref": mv.ref,
                "digest": mv.digest,
                "files": len(mv.manifest),
                "metadata_bound": METADATA_FILE in mv.manifest,
                "signatures": len(reg.signature_records(mv)),
                "accepted_key": accepted.key_id if accepted is not None else None,
            }
        )
        return
    console().print(f"[green]ok[/] {mv.ref}: {len(mv.manifest)} file(s) match {short_digest(mv.digest)}")
    if METADATA_FILE in mv.manifest:
        console().print("flavor, config, signature and runs-code are bound to the digest")
    else:
        console().print(
            f"[yellow]note[/] {mv.ref} has no {METADATA_FILE}: its flavor and config are checked against the "
            "database only (re-register it to bind them)"
        )
    if accepted is not None:
        console().print(f"signed by key {accepted.key_id}, accepted for {ref}")
    elif reg.signature_records(mv):
        console().print(f"{len(reg.signature_records(mv))} signature(s) verify")


def _alias_of(ref: str) -> str | None:
    from mlgate.refs import parse_ref

    return parse_ref(ref).alias


@app.command("keygen")
def keygen(
    path: Path = typer.Argument(..., help="Where to write the private key; the public key goes to PATH.pub."),
) -> None:
    """Create an ed25519 signing key pair (needs the 'sign' extra)."""
    from mlgate.signing import generate_key, key_id, read_public_key

    private, public = generate_key(path)
    kid = key_id(read_public_key(str(public), root=Path.cwd(), where=str(public)))
    console().print(
        f"wrote {private} (private: keep it secret) and {public} (key {kid}); trust it with "
        f"trust: {{keys: {{NAME: {public}}}}} in mlgate.yaml"
    )


@app.command("sign")
def sign(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="Version reference."),
    key: Path = typer.Option(..., "--key", "-k", help="The ed25519 private key (PEM) to sign with."),
    as_json: bool = typer.Option(False, "--json", help="Print the signature as JSON."),
) -> None:
    """Verify a version's files, then sign its digest and record the signature."""
    from mlgate.signing import sign as sign_version

    sig = sign_version(registry(ctx), ref, key)
    if as_json:
        print_json(sig.to_dict())
        return
    console().print(f"[green]signed[/] {ref} ({short_digest(sig.digest)}) with key {sig.key_id}")
