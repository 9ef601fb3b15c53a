"""``mlgate.promote``: protected aliases move only with a passing gate report bound to the exact inputs.

Real logistic regressions on scikit-learn's breast-cancer set, on a real registry (SQLite and PostgreSQL).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mlgate
from mlgate.config import Settings, load_settings
from mlgate.errors import CheckFailed, ConfigError, ConflictError, UsageError
from mlgate.gates.evaluate import gate
from mlgate.promotion import promote, protected_aliases

GATES = """\
  - {metric: roc_auc, vs: production, max_drop: 0.05}
  - {metric: accuracy, min: 0.8}
"""


@dataclass(frozen=True)
class Data:
    X: pd.DataFrame
    y: pd.Series
    test: pd.DataFrame
    models: dict[str, Any]


@pytest.fixture(scope="module")
def data() -> Data:
    """Three good classifiers and a clearly worse one (a one-feature stump), trained once."""
    frame = load_breast_cancer(as_frame=True).frame
    train, test = train_test_split(frame, test_size=0.3, random_state=0, stratify=frame["target"])
    X, y = train.drop(columns=["target"]), train["target"]

    def logistic(c: float) -> Any:
        return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000)).fit(X, y)

    stump = RandomForestClassifier(n_estimators=5, max_depth=1, random_state=0).fit(X[["mean symmetry"]], y)
    return Data(X, y, test, {"a": logistic(1.0), "b": logistic(0.3), "c": logistic(3.0), "worse": stump})


@dataclass
class Project:
    reg: Any
    data: Data
    root: Path

    def settings(self, gates: str = GATES, extra: str = "") -> Settings:
        path = self.root / "mlgate.yaml"
        path.write_text(f"data: {{eval: eval.csv, target: target}}\ngates:\n{gates}{extra}", encoding="utf-8")
        return load_settings(config=path)

    def log(self, key: str) -> Any:
        model = self.data.models[key]
        sample = self.data.X[["mean symmetry"]] if key == "worse" else self.data.X
        return mlgate.log_model(model, "bc", sample_input=sample.head(5), registry=self.reg)


@pytest.fixture
def project(registry: Any, data: Data) -> Project:
    root = Path.cwd()  # the test's own folder (tests/conftest.py)
    data.test.to_csv(root / "eval.csv", index=False)
    return Project(registry, data, root)


def _holder(p: Project, alias: str = "production") -> int | None:
    return p.reg.aliases("bc").get(alias)


def test_production_is_protected_by_default(project: Project) -> None:
    settings = project.settings()
    assert protected_aliases(settings) == ["production"]
    project.log("a")
    with pytest.raises(CheckFailed, match=r"bc:1 has no gate report, and moving a protected alias needs") as info:
        promote("bc:1", "production", settings=settings, registry=project.reg)
    assert info.value.exit_code == 1
    assert "mlgate gate bc:1" in (info.value.hint or "") and "--gate" in (info.value.hint or "")
    assert _holder(project) is None, "a refused promotion moves nothing"


def test_passing_gate_then_promote_records_the_report(project: Project) -> None:
    settings = project.settings()
    project.log("a")
    first = gate("bc:1", config=settings, registry=project.reg)
    assert first.passed
    event = promote("bc:1", "production", settings=settings, registry=project.reg, reason="first release")
    assert (event.from_number, event.to_number, event.forced) == (None, 1, False)
    assert event.gate_report == first.record.report_digest
    project.log("b")
    second = gate("bc:2", config=settings, registry=project.reg)
    assert second.passed and second.record.champion_digest == project.reg.get("bc:1").digest
    event = promote("bc:2", "production", settings=settings, registry=project.reg)
    assert (event.from_number, event.to_number) == (1, 2)
    history = project.reg.history("bc", "production")
    assert [e.gate_report for e in history] == [first.record.report_digest, second.record.report_digest]
    assert [e.reason for e in history] == ["first release", None]


def test_promoting_the_version_the_alias_holds_again_changes_nothing(project: Project) -> None:
    settings = project.settings()
    project.log("a")
    promote("bc:1", "production", settings=settings, registry=project.reg, gate=True)
    again = promote("bc:1", "production", settings=settings, registry=project.reg)
    assert not again.changed and again.to_number == 1
    assert len(project.reg.history("bc", "production")) == 1


def test_failing_report_is_refused(project: Project) -> None:
    settings = project.settings()
    project.log("a")
    project.reg.set_alias("bc", "production", 1)
    project.log("worse")
    result = gate("bc:2", config=settings, registry=project.reg)
    assert not result.passed and not result.record.passed
    with pytest.raises(CheckFailed, match=r"the newest report on these exact inputs failed \(see `mlgate report bc:2`"):
        promote("bc:2", "production", settings=settings, registry=project.reg)
    assert _holder(project) == 1


def _gated_candidate(p: Project) -> Settings:
    """bc:1 holds production; bc:2 has a passing report against it."""
    settings = p.settings()
    p.log("a")
    p.reg.set_alias("bc", "production", 1)
    p.log("b")
    assert gate("bc:2", config=settings, registry=p.reg).passed
    return settings


def test_changed_evaluation_data_voids_the_report(project: Project) -> None:
    _gated_candidate(project)
    project.data.test.iloc[:-5].to_csv(project.root / "eval.csv", index=False)
    settings = project.settings()
    with pytest.raises(CheckFailed, match=r"no passing gate report for the current inputs: the evaluation data"):
        promote("bc:2", "production", settings=settings, registry=project.reg)
    assert _holder(project) == 1
    assert gate("bc:2", config=settings, registry=project.reg).passed
    assert promote("bc:2", "production", settings=settings, registry=project.reg).to_number == 2


def test_changed_gates_section_voids_the_report(project: Project) -> None:
    _gated_candidate(project)
    stricter = project.settings(GATES.replace("max_drop: 0.05", "max_drop: 0.04"))
    with pytest.raises(CheckFailed, match=r"the gates or waivers in mlgate.yaml changed since the newest report"):
        promote("bc:2", "production", settings=stricter, registry=project.reg)
    assert _holder(project) == 1


def test_another_champion_voids_the_report(project: Project) -> None:
    settings = _gated_candidate(project)
    project.log("c")
    assert promote("bc:3", "production", settings=settings, registry=project.reg, gate=True).to_number == 3
    with pytest.raises(CheckFailed, match=r"judged it against another champion, and the alias now holds bc:3"):
        promote("bc:2", "production", settings=settings, registry=project.reg)
    assert _holder(project) == 3


def test_a_report_against_a_champion_does_not_count_once_the_alias_is_gone(project: Project) -> None:
    settings = _gated_candidate(project)
    project.reg.delete_alias("bc", "production")
    with pytest.raises(CheckFailed, match=r"another champion, and nothing holds bc@production now"):
        promote("bc:2", "production", settings=settings, registry=project.reg)
    assert _holder(project) is None


def test_gate_true_runs_the_gate_then_promotes(project: Project) -> None:
    settings = project.settings()
    project.log("a")
    project.reg.set_alias("bc", "production", 1)
    project.log("b")
    assert project.reg.gate_reports("bc:2") == []
    event = promote("bc:2", "production", settings=settings, registry=project.reg, gate=True)
    stored = project.reg.gate_reports("bc:2")
    assert len(stored) == 1 and stored[0].passed
    assert event.to_number == 2 and event.gate_report == stored[0].report_digest


def test_gate_true_refuses_a_failing_candidate(project: Project) -> None:
    settings = project.settings()
    project.log("a")
    project.reg.set_alias("bc", "production", 1)
    project.log("worse")
    with pytest.raises(CheckFailed, match=r"bc:2 did not pass the gate against bc@production, so it was not promoted"):
        promote("bc:2", "production", settings=settings, registry=project.reg, gate=True)
    assert _holder(project) == 1
    assert [r.passed for r in project.reg.gate_reports("bc:2")] == [False]


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_force_without_a_reason_is_a_usage_error(project: Project, reason: str | None) -> None:
    settings = project.settings()
    project.log("a")
    with pytest.raises(UsageError, match=r'--force needs --reason "…"') as info:
        promote("bc:1", "production", settings=settings, registry=project.reg, force=True, reason=reason)
    assert info.value.exit_code == 2 and _holder(project) is None


def test_force_with_a_reason_moves_and_is_recorded(project: Project) -> None:
    settings = project.settings()
    project.log("a")
    project.reg.set_alias("bc", "production", 1)
    project.log("worse")
    event = promote("bc:2", "production", settings=settings, registry=project.reg, force=True, reason="hotfix #12")
    assert event.forced and event.gate_report is None and event.to_number == 2
    last = project.reg.history("bc", "production")[-1]
    assert (last.forced, last.reason, last.to_number) == (True, "hotfix #12", 2)


def test_unprotected_aliases_move_freely(project: Project) -> None:
    settings = project.settings()
    project.log("worse")
    event = promote("bc:1", "staging", settings=settings, registry=project.reg)
    assert event.to_number == 1 and event.gate_report is None and not event.forced
    assert project.reg.gate_reports("bc:1") == []


def test_protected_list_is_configurable(project: Project) -> None:
    settings = project.settings(extra="promote: {protected: [staging]}\n")
    assert protected_aliases(settings) == ["staging"]
    project.log("a")
    with pytest.raises(CheckFailed, match=r"bc:1 has no gate report") as info:
        promote("bc:1", "staging", settings=settings, registry=project.reg)
    assert "--against staging" in (info.value.hint or "") and "--to staging" in (info.value.hint or "")
    assert promote("bc:1", "production", settings=settings, registry=project.reg).to_number == 1
    assert _holder(project, "staging") is None
    assert promote("bc:1", "staging", settings=settings, registry=project.reg, gate=True).to_number == 1


@pytest.mark.parametrize(
    ("section", "match"),
    [
        ("promote: [production]\n", r"promote must be a mapping such as \{protected: \[production\]\}"),
        ("promote: {protected: production}\n", r"promote.protected must be a list of aliases"),
    ],
)
def test_bad_promote_section(project: Project, section: str, match: str) -> None:
    settings = project.settings(extra=section)
    project.log("a")
    with pytest.raises(ConfigError, match=match):
        promote("bc:1", "production", settings=settings, registry=project.reg, force=True, reason="x")


@pytest.mark.parametrize("alias", ["production", "staging"])
def test_expect_mismatch_is_a_conflict(project: Project, alias: str) -> None:
    settings = project.settings()
    project.log("a")
    project.log("b")
    project.reg.set_alias("bc", alias, 1)
    with pytest.raises(ConflictError, match=rf"bc@{alias} now points to bc:1, not bc:2 as expected"):
        promote("bc:2", alias, settings=settings, registry=project.reg, expect=2, force=True, reason="x")
    with pytest.raises(ConflictError, match=rf"bc@{alias} now points to bc:1, not nothing as expected"):
        promote("bc:2", alias, settings=settings, registry=project.reg, expect=None, force=True, reason="x")
    assert _holder(project, alias) == 1
    event = promote("bc:2", alias, settings=settings, registry=project.reg, expect=1, force=True, reason="x")
    assert event.to_number == 2


def test_a_report_on_other_data_names_both_files_and_what_to_pass(project: Project) -> None:
    settings = project.settings()
    project.log("a")
    project.reg.set_alias("bc", "production", 1)
    project.log("b")
    project.data.test.iloc[:-5].to_csv(project.root / "holdout.csv", index=False)
    assert gate("bc:2", data=str(project.root / "holdout.csv"), config=settings, registry=project.reg).passed
    with pytest.raises(CheckFailed, match=r"judged holdout.csv, but promotion checks data.eval \(eval.csv\).*--data"):
        promote("bc:2", "production", settings=settings, registry=project.reg)
    assert _holder(project) == 1
    event = promote("bc:2", "production", settings=settings, registry=project.reg, data=project.root / "holdout.csv")
    assert event.to_number == 2


def test_a_relative_glob_digests_alike_in_gate_and_promote(project: Project) -> None:
    parts = project.root / "parts"
    parts.mkdir()
    half = len(project.data.test) // 2
    project.data.test.iloc[:half].to_csv(parts / "a.csv", index=False)
    project.data.test.iloc[half:].to_csv(parts / "b.csv", index=False)
    path = project.root / "mlgate.yaml"
    project.settings()
    path.write_text(path.read_text().replace("eval: eval.csv", "eval: parts/*.csv"), encoding="utf-8")
    settings = load_settings(config=path)
    project.log("a")
    project.reg.set_alias("bc", "production", 1)
    project.log("b")
    assert gate("bc:2", config=settings, registry=project.reg).passed  # data.eval, the glob as written
    assert promote("bc:2", "production", settings=settings, registry=project.reg).to_number == 2


def test_a_relative_glob_gated_here_is_promoted_from_a_subfolder(project: Project, monkeypatch: Any) -> None:
    """The dataset digest names files relative to the project root, never to the current folder."""
    parts = project.root / "parts"
    parts.mkdir()
    half = len(project.data.test) // 2
    project.data.test.iloc[:half].to_csv(parts / "a.csv", index=False)
    project.data.test.iloc[half:].to_csv(parts / "b.csv", index=False)
    path = project.root / "mlgate.yaml"
    project.settings()
    path.write_text(path.read_text().replace("eval: eval.csv", "eval: parts/*.csv"), encoding="utf-8")
    settings = load_settings(config=path)
    project.log("a")
    project.reg.set_alias("bc", "production", 1)
    project.log("b")
    assert gate("bc:2", config=settings, registry=project.reg).passed
    (project.root / "sub").mkdir()
    monkeypatch.chdir(project.root / "sub")
    assert promote("bc:2", "production", settings=load_settings(config=path), registry=project.reg).to_number == 2


def test_promote_takes_a_resolved_version(project: Project) -> None:
    settings = _gated_candidate(project)
    mv = project.reg.get("bc:2")
    event = promote(mv, "production", settings=settings, registry=project.reg, expect="1")
    assert (event.from_number, event.to_number) == (1, 2)


def test_a_missing_evaluation_file_names_its_mlgate_yaml_line(project: Project) -> None:
    from mlgate.errors import NotFoundError

    settings = _gated_candidate(project)
    (project.root / "eval.csv").unlink()
    with pytest.raises(NotFoundError, match=r"mlgate.yaml:1: data.eval eval.csv does not exist"):
        promote("bc:2", "production", settings=settings, registry=project.reg)
