"""``mlgate.promote``: move an alias, and refuse to move a protected one without a passing gate report.

A protected alias (``promote: {protected: [production]}``, production by default) moves to a version only
when a passing gate report exists for that exact tuple: the version's digest, the digest of the version
the alias holds now (none for a first model), the evaluation data's digest and the gate config's digest.
``gate=True`` runs the gate first; ``force=True`` overrides with a reason, and the override is recorded on
the alias event. The move itself is compare-and-set against the holder the report was checked against,
so a promotion racing another cannot slip past the gate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlgate.config import Settings, load_settings
from mlgate.errors import CheckFailed, UsageError
from mlgate.refs import Ref
from mlgate.registry.types import RELEASE_ALIAS, AliasEvent, GateRecord, ModelVersion

if TYPE_CHECKING:
    from mlgate.data.dataset import Dataset
    from mlgate.registry.store import Registry

_UNSET: Any = object()


def protected_aliases(settings: Settings) -> list[str]:
    """The aliases that need a passing gate report (``promote.protected``; production by default)."""
    return list(settings.promote.protected)


def refuse_smoke(mv: ModelVersion, to: str) -> None:
    """A smoke run's version trained on cheap settings: it may be gated, never promoted, not even forced."""
    from mlgate.registry.store import SMOKE_STATUS

    if mv.status == SMOKE_STATUS:
        raise UsageError(
            f"{mv.ref} was registered by a smoke run (`mlgate run --smoke`, its params cut down for CI) and "
            f"cannot be promoted to {to}",
            hint="promote a version from a full run: `mlgate run` (or `mlgate ci --no-smoke` on main)",
        )


def promote(
    ref: str | ModelVersion,
    to: str,
    *,
    settings: Settings | None = None,
    registry: Registry | None = None,
    expect: Any = _UNSET,
    reason: str | None = None,
    force: bool = False,
    gate: bool = False,
    data: Any = None,
    say: Any = None,
) -> AliasEvent:
    """Point ``to`` at ``ref``; a protected alias needs a passing gate report (or ``force`` with a reason).

    ``ref`` may be a version already resolved (a ``ModelVersion`` of this registry): each version involved
    (candidate, holder, ``expect``) is resolved once here and handed down, never looked up again by name.
    """
    from mlgate.registry.store import Registry

    settings = settings or load_settings()
    reg = registry if registry is not None else Registry(settings=settings)
    mv = ref if isinstance(ref, ModelVersion) else reg.get(ref)
    refuse_smoke(mv, to)
    if force and not (reason and reason.strip()):
        raise UsageError('--force needs --reason "…": an override of the gate is recorded with its reason')
    protected = to in protected_aliases(settings)
    from mlgate.signing import verify_signatures

    # promote.require_signature: --force does not override it, because a gate override is not a signature
    signed = verify_signatures(reg, mv, alias=to, settings=settings)
    signer = signed.key_id if signed else None  # recorded on the alias event
    if not protected:
        kwargs = {} if expect is _UNSET else {"expect": expect}
        return reg.set_alias(mv.name, to, mv.number, reason=reason, signer=signer, **kwargs)
    holder = reg.aliases(mv.name).get(to)
    if expect is not _UNSET:
        want = None if expect is None else _expected_number(reg, mv.name, expect)
        if want != holder:
            held = f"{mv.name}:{holder}" if holder else "nothing"
            wanted = f"{mv.name}:{want}" if want else "nothing"
            from mlgate.errors import ConflictError

            raise ConflictError(
                f"{mv.name}@{to} now points to {held}, not {wanted} as expected; someone moved it first",
                hint=f"check `mlgate model history {mv.name} --alias {to}`, then retry with "
                f"--expect {holder if holder else 'none'}",
            )
    if holder == mv.number:  # nothing would move, so there is nothing to gate (a retried promotion)
        return reg.set_alias(mv.name, to, mv.number, expect=holder, reason=reason, signer=signer)
    if force:
        return reg.set_alias(mv.name, to, mv.number, expect=holder, reason=reason, forced=True, signer=signer)
    if gate:
        from mlgate.gates.evaluate import gate as run_gate

        result = run_gate(str(_by_number(mv)), against=to, data=data, config=settings, registry=reg, say=say)
        if not result.passed:
            failing = [c for c in result.checks if c.blocking]
            lines = "; ".join(f"{c.name}: {c.message}" for c in failing[:3])
            raise CheckFailed(
                f"{mv.ref} did not pass the gate against {mv.name}@{to}, so it was not promoted: {lines}",
                hint=f'see `mlgate report {mv.ref}`; override with --force --reason "…" if you must',
            )
        record = result.record
    else:
        holder_mv = reg.get(Ref(mv.name, number=holder)) if holder else None
        record = find_passing_report(reg, mv, holder_mv, settings, data=data, alias=to)
    return reg.set_alias(
        mv.name, to, mv.number, expect=holder, reason=reason, gate_report=record.report_digest, signer=signer
    )


def _by_number(mv: ModelVersion) -> Ref:
    """The reference of exactly this version, already parsed (an alias may move meanwhile; a number does not)."""
    return Ref(mv.name, number=mv.number)


def _expected_number(reg: Any, name: str, expect: Any) -> int:
    """The number of the version ``expect`` names (NotFoundError when none): a number of model ``name``
    (``7``, ``"7"``) or a reference (``fraud:1.4.0``, ``fraud@staging``)."""
    target = Ref(name, number=int(expect)) if str(expect).isdigit() else expect
    return int(reg.get(target).number)


def find_passing_report(
    reg: Any,
    mv: ModelVersion,
    holder: ModelVersion | None,
    settings: Settings,
    *,
    data: Any = None,
    alias: str = RELEASE_ALIAS,
) -> GateRecord:
    """The newest passing report bound to (mv, holder, dataset, gate config); CheckFailed saying what differs.

    ``data`` (a path, glob or table, as ``--data`` gives it) overrides ``data.eval``; either is resolved and
    digested as the gate does it (:class:`mlgate.data.dataset.Dataset`).
    """
    from mlgate.data.dataset import configured_dataset
    from mlgate.gates.spec import config_digest

    dataset = configured_dataset(settings.data, settings.root, given=data)
    given = data is not None
    config = config_digest(settings)
    champion = holder.digest if holder else None
    reports = reg.gate_reports(_by_number(mv))
    now = f"the alias now holds {holder.ref}" if holder else f"nothing holds {mv.name}@{alias} now"
    against = "" if alias == RELEASE_ALIAS else f" --against {alias}"
    hint = (
        f"run `mlgate gate {mv.ref}{against}` first, or `mlgate promote {mv.ref} --to {alias} --gate` to gate "
        'and promote in one step; override with --force --reason "…"'
    )
    if not reports:
        raise CheckFailed(f"{mv.ref} has no gate report, and moving a protected alias needs a passing one", hint=hint)
    why = []
    for r in reports:
        if r.champion_digest != champion:
            why.append(f"the report of {r.created_at:%Y-%m-%d %H:%M} judged it against another champion, and {now}")
            continue
        if dataset is not None and r.dataset_digest != dataset.digest:
            why.append(_other_data(reg, r, dataset, given=given))
            continue
        if r.config_digest != config:
            why.append("the gates or waivers in mlgate.yaml changed since the newest report")
            continue
        if not r.passed:
            why.append(f"the newest report on these exact inputs failed (see `mlgate report {mv.ref}`)")
            # gating again gives the same verdict on the same inputs: say what does help
            hint = (
                f"`mlgate report {mv.ref}` shows what blocked it; promote a better candidate, add a waiver, "
                'or override with --force --reason "…"'
            )
            break
        return r
    raise CheckFailed(f"{mv.ref} has no passing gate report for the current inputs: {why[0]}", hint=hint)


def _other_data(reg: Any, record: GateRecord, dataset: Dataset, *, given: bool) -> str:
    """Why a report's dataset is not the one promotion checks: which file each names, and what to pass."""
    import json

    try:
        judged = json.loads(reg.read_blob(record.report_digest, what=f"gate report of {record.ref}"))["dataset"]["path"]
    except Exception:  # an unreadable report still explains itself by digest
        judged = None
    name = dataset.name if dataset.is_files else "the data given"
    checked = name if given else f"data.eval ({name})"
    if judged and judged != name:
        return (
            f"the newest report judged {judged}, but promotion checks {checked}; pass the data you gated on "
            f"(`--data {judged}`, or data={judged!r} in Python), or gate on {checked}"
        )
    return f"the evaluation data changed since the newest report: {checked} no longer has the digest it judged"
