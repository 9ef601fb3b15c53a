"""What the registry returns: plain frozen records, cheap to build and easy to print as JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlgate.registry.leftovers import Leftover

RELEASE_ALIAS = "production"  # promotion here turns a candidate into a stable release


@dataclass(frozen=True)
class ModelVersion:
    """One immutable version of a model, plus its mutable tags and description."""

    name: str
    number: int
    digest: str
    flavor: str
    base_semver: str
    rc: int
    stable_semver: str | None
    status: str
    signature: dict[str, Any]
    manifest: dict[str, dict[str, Any]]
    lineage: dict[str, Any]
    environment: dict[str, Any]
    flavor_config: dict[str, Any]
    size_bytes: int
    runs_code: bool
    data_profile_digest: str | None
    description: str | None
    tags: dict[str, str]
    created_by: str
    created_at: datetime
    aliases: tuple[str, ...] = ()
    id: int = field(default=0, repr=False, compare=False)

    def __repr__(self) -> str:
        # one line: the dataclass repr spelled out the signature, manifest and environment lock (kilobytes)
        aliases = f", aliases={list(self.aliases)}" if self.aliases else ""
        return f"<ModelVersion {self.ref} {self.semver} {self.status} {self.flavor} {self.digest[:19]}{aliases}>"

    @property
    def semver(self) -> str:
        """``1.4.0`` once released to production, ``1.4.0-rc.N`` while a candidate."""
        return self.stable_semver or f"{self.base_semver}-rc.{self.rc}"

    @property
    def ref(self) -> str:
        """The unambiguous reference ``name:number``."""
        return f"{self.name}:{self.number}"

    def to_dict(self, *, full: bool = False) -> dict[str, Any]:
        """A JSON-ready dict; ``full`` adds the manifest and the whole environment lock."""
        d = asdict(self)
        d.pop("id")
        d["semver"] = self.semver
        d["ref"] = self.ref
        d["created_at"] = self.created_at.isoformat()
        d["aliases"] = list(self.aliases)
        if not full:
            d.pop("manifest")
            env = dict(d["environment"])
            env.pop("distributions", None)
            d["environment"] = env
        return d


@dataclass(frozen=True)
class AliasEvent:
    """One move of an alias: who moved it from which version to which, when and why."""

    name: str
    alias: str
    from_number: int | None
    to_number: int | None
    actor: str
    reason: str | None
    kind: str
    forced: bool
    gate_report: str | None
    created_at: datetime
    changed: bool = True
    signer: str | None = None  # the accepted signature's key, where the alias requires one

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        d = asdict(self)
        d["created_at"] = self.created_at.isoformat()
        return d


@dataclass(frozen=True)
class VersionEvent:
    """One change of a version's mutable metadata (tag, description) or status."""

    ref: str
    field: str
    key: str | None
    old: str | None
    new: str | None
    actor: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        d = asdict(self)
        d["created_at"] = self.created_at.isoformat()
        return d


@dataclass(frozen=True)
class ModelSummary:
    """A model's name with its latest version and aliases, for listings."""

    name: str
    versions: int
    latest: ModelVersion | None
    aliases: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "name": self.name,
            "versions": self.versions,
            "latest": self.latest.to_dict() if self.latest else None,
            "aliases": self.aliases,
        }


@dataclass(frozen=True)
class GcResult:
    """Blobs no version references, and which of them were deleted."""

    orphans: list[tuple[str, int, float]]
    deleted: list[str]
    kept_young: list[str]
    referenced: int
    leftovers: list[Leftover] = field(default_factory=list)  # temporary files and folders of killed processes
    removed_leftovers: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "orphans": [{"digest": d, "size": s, "age_s": round(a, 1)} for d, s, a in self.orphans],
            "deleted": self.deleted,
            "kept_young": self.kept_young,
            "referenced": self.referenced,
            "leftovers": [item.to_dict() for item in self.leftovers],
            "removed_leftovers": self.removed_leftovers,
        }


@dataclass(frozen=True)
class GateRecord:
    """A stored gate report's binding: which candidate, champion, dataset and gate config it judged."""

    id: int
    ref: str
    candidate_digest: str
    champion_digest: str | None
    against: str
    dataset_digest: str
    config_digest: str
    passed: bool
    report_digest: str
    created_by: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        d = asdict(self)
        d["created_at"] = self.created_at.isoformat()
        return d


@dataclass(frozen=True)
class RunRecord:
    """One ``mlgate run``: what it ran, with which params, what it measured, and what came from the cache."""

    id: str
    project: str | None
    status: str  # succeeded or failed
    targets: list[str]
    params: dict[str, Any]
    metrics: dict[str, Any]
    stages: list[dict[str, Any]]  # {stage, outcome, duration_s, restored, key}
    cache_hits: int
    git: dict[str, Any] | None
    started_at: datetime
    duration_s: float
    created_by: str

    @property
    def commit(self) -> str | None:
        """The git commit the run started from, if the project is a git repository."""
        return (self.git or {}).get("commit")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        d = asdict(self)
        d["started_at"] = self.started_at.isoformat()
        return d
