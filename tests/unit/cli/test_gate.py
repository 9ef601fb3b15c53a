"""``mlgate gate``, ``mlgate report`` and ``mlgate promote`` through the real entry point, and every bad input
of issue 4 §10 with its exit code and a message naming the thing. SQLite and PostgreSQL (the ``cli`` fixture).

The project: bc:1 holds production, bc:2 is a good candidate, bc:3 a clearly worse one (one feature).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mlgate
from mlgate.gates.types import REPORT_SCHEMA, Check
from mlgate.registry.store import Registry

DOC = Path(__file__).parents[3] / "docs" / "gate-report.md"
DATA = "data: {eval: eval.csv, target: target}\n"
GATES = """\
  - {metric: roc_auc, vs: production, max_drop: 0.05}
  - {metric: accuracy, min: 0.8}
  - {metric: accuracy, vs: production, slices: [mean radius], max_drop: 0.1, min_rows: 20}
"""


@dataclass(frozen=True)
class Trained:
    X: pd.DataFrame
    test: pd.DataFrame
    champion: Any
    good: Any
    worse: Any


@pytest.fixture(scope="module")
def trained() -> Trained:
    frame = load_breast_cancer(as_frame=True).frame
    train, test = train_test_split(frame, test_size=0.3, random_state=0, stratify=frame["target"])
    X, y = train.drop(columns=["target"]), train["target"]

    def logistic(c: float) -> Any:
        return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000)).fit(X, y)

    worse = RandomForestClassifier(n_estimators=5, max_depth=1, random_state=0).fit(X[["mean symmetry"]], y)
    return Trained(X, test, logistic(1.0), logistic(0.3), worse)


@dataclass
class Project:
    root: Path
    reg: Registry
    trained: Trained

    def config(self, gates: str = GATES, extra: str = "", data: str = DATA) -> str:
        text = f"{data}gates:\n{gates}{extra}"
        (self.root / "mlgate.yaml").write_text(text, encoding="utf-8")
        return text

    def csv(self, name: str, frame: pd.DataFrame) -> str:
        frame.to_csv(self.root / name, index=False)
        return name


@pytest.fixture
def project(registry_url: str, tmp_path: Path, trained: Trained) -> Any:
    """The same registry the ``cli`` fixture points mlgate at, with bc:1 (production), bc:2 and bc:3."""
    reg = Registry(registry_url, artifacts=str(tmp_path / "artifacts"))
    X = trained.X
    mlgate.log_model(trained.champion, "bc", sample_input=X.head(5), registry=reg)
    reg.set_alias("bc", "production", 1)
    mlgate.log_model(trained.good, "bc", sample_input=X.head(5), registry=reg)
    mlgate.log_model(trained.worse, "bc", sample_input=X[["mean symmetry"]].head(5), registry=reg)
    p = Project(Path.cwd(), reg, trained)
    p.csv("eval.csv", trained.test)
    p.config()
    yield p
    reg.close()


@pytest.fixture
def mg(cli: Any) -> Any:
    """``cli`` that also asserts what must hold for every command: no traceback, no unexpected error."""

    def run(*args: str) -> Any:
        r = cli(*args)
        assert "Traceback" not in r.err and "Traceback" not in r.out, r.err
        assert "unexpected" not in r.err and r.code != 3, r.err
        return r

    return run


def flat(text: str) -> str:
    """Rich wraps long lines; compare words, not line breaks."""
    return " ".join(text.split())


# -- the documented schema ---------------------------------------------------------------------


def documented(section: str, part: int = 0) -> set[str]:
    """The backquoted names in the first column of a section's tables of docs/gate-report.md."""
    body = DOC.read_text(encoding="utf-8").split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    if section == "Checks":  # fields, then "Statuses:", then "Kinds:"
        body = re.split(r"\n(?:Statuses|Kinds):\n", body)[part]
    return set(re.findall(r"^\| `([a-z_0-9]+)` \|", body, flags=re.MULTILINE))


def assert_documented_report(doc: dict[str, Any]) -> None:
    assert doc["schema"] == REPORT_SCHEMA == "mlgate.gate-report/1"
    assert set(doc) == documented("Top level")
    assert set(doc["candidate"]) == documented("Candidate and champion")
    assert doc["champion"] is None or set(doc["champion"]) == documented("Candidate and champion")
    assert set(doc["dataset"]) == documented("Dataset")
    assert set(doc["config"]) == documented("Config")
    assert set(doc["summary"]) == documented("Summary")
    assert set(doc["environment"]) == documented("Environment")
    assert set(doc["plots"]) == documented("Plots")
    fields, statuses, kinds = documented("Checks", 0), documented("Checks", 1), documented("Checks", 2)
    assert fields == {f.name for f in Check.__dataclass_fields__.values()} | {"blocking"}  # blocking: computed
    for check in doc["checks"]:
        assert set(check) == fields
        assert check["status"] in statuses and check["kind"] in kinds
        assert isinstance(check["name"], str) and isinstance(check["details"], dict)
        assert check["ci"] is None or (len(check["ci"]) == 2 and check["ci"][0] <= check["ci"][1])
    assert len({c["name"] for c in doc["checks"]}) == len(doc["checks"]), "check names are unique"
    for entry in doc["metrics"].values():
        assert set(entry) <= documented("Metrics")
    for row in doc["slices"]:
        assert set(row) <= documented("Slices") and row["status"] in statuses
    assert all(key.endswith("_s") and value >= 0 for key, value in doc["timings"].items())
    s = doc["summary"]
    assert (
        sum(s[k] for k in ("passed", "failed", "errors", "undecided", "skipped", "warnings", "waived")) == s["checks"]
    )
    assert s["checks"] == len(doc["checks"])
    assert doc["passed"] is (s["failed"] == 0 and s["errors"] == 0 and s["undecided_blocking"] == 0)


# -- mlgate gate -------------------------------------------------------------------------------


def test_gate_exit_code_follows_the_verdict(mg: Any, project: Project) -> None:
    good = mg("gate", "bc:2")
    assert good.code == 0 and "gate passed" in good.out
    assert "bc:2" in good.out and "bc:1" in good.out and "roc_auc vs production" in good.out
    bad = mg("gate", "bc:3")
    assert bad.code == 1 and "gate blocked" in bad.out
    assert re.search(r"✘ fail roc_auc vs production: roc_auc [0-9.]+ vs [0-9.]+", flat(bad.out))


@pytest.mark.parametrize(("ref", "code"), [("bc:2", 0), ("bc:3", 1)])
def test_json_follows_the_documented_schema(mg: Any, project: Project, ref: str, code: int) -> None:
    r = mg("gate", ref, "--json")
    assert r.code == code
    doc = r.json()
    assert_documented_report(doc)
    assert doc["passed"] is (code == 0) and doc["candidate"]["ref"] == ref and doc["champion"]["ref"] == "bc:1"
    assert doc["dataset"]["rows"] == len(project.trained.test) and doc["task"] == "binary"
    assert doc["slices"], "the slice gate's rows are in the report"
    stored = mg("report", ref, "--list", "--json").json()
    assert [s["report_digest"] for s in stored] == [doc["id"]]


def test_out_dir_writes_json_markdown_html_and_plots(mg: Any, project: Project) -> None:
    r = mg("gate", "bc:2", "-o", "gate-report", "--json")
    assert r.code == 0 and "report written to" in r.err
    out = project.root / "gate-report"
    written = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert written == r.json()
    for name in ("roc", "pr", "calibration", "slices"):
        assert (out / f"{name}.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n"), name
    md = (out / "report.md").read_text(encoding="utf-8")
    assert md.startswith("## ✅ Gate passed: `bc:2` → `production`") and "](roc.png)" in md
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<html" in page and "data:image/png;base64," in page and "roc.png" not in page


def test_markdown_appends(mg: Any, project: Project) -> None:
    summary = project.root / "summary.md"
    summary.write_text("# CI summary\n", encoding="utf-8")
    assert mg("gate", "bc:2", "--markdown", str(summary)).code == 0
    assert mg("gate", "bc:3", "--markdown", str(summary)).code == 1
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("# CI summary\n")
    assert text.index("## ✅ Gate passed: `bc:2`") < text.index("## ❌ Gate blocked: `bc:3`")


def test_no_store_leaves_no_report(mg: Any, project: Project) -> None:
    assert mg("gate", "bc:2", "--no-store").code == 0
    assert mg("report", "bc:2", "--list", "--json").json() == []
    r = mg("report", "bc:2")
    assert r.code == 2 and "bc:2 has no gate report" in r.err and "mlgate gate bc:2" in r.err


# -- mlgate report -----------------------------------------------------------------------------


def test_report_renders_the_stored_report_again(mg: Any, project: Project) -> None:
    gated = {ref: mg("gate", ref, "--json").json() for ref in ("bc:2", "bc:3")}
    for ref, code in (("bc:2", 0), ("bc:3", 1)):
        again = mg("report", ref, "--json")
        assert again.code == code
        assert again.json() == gated[ref], "the stored report, exactly as decided"
        shown = mg("report", ref)
        assert shown.code == code and ("gate passed" if code == 0 else "gate blocked") in shown.out
    assert "roc_auc vs production" in flat(mg("report", "bc:3").out)


def test_report_list_and_id(mg: Any, project: Project) -> None:
    first = mg("gate", "bc:2", "--json").json()["id"]
    project.config(GATES.replace("max_drop: 0.05", "max_drop: 0.0001"))  # now too strict: blocked
    second = mg("gate", "bc:2", "--json").json()
    assert second["passed"] is False
    listed = mg("report", "bc:2", "--list", "--json").json()
    assert [(r["report_digest"], r["passed"]) for r in listed] == [(second["id"], False), (first, True)]
    table = mg("report", "bc:2", "--list")
    assert table.code == 0 and "passed" in table.out and "blocked" in table.out and first[:19] in table.out
    older = mg("report", "bc:2", "--id", first[:19], "--json")  # the short digest `--list` shows
    assert older.code == 0 and older.json()["id"] == first
    assert mg("report", "bc:2", "--id", first.removeprefix("blake3:")[:10]).code == 0
    assert mg("report", "bc:2").code == 1, "without --id, the newest report"
    unknown = mg("report", "bc:2", "--id", "blake3:0000dead")
    assert unknown.code == 2 and "bc:2 has no gate report blake3:0000dead" in unknown.err
    assert "mlgate report bc:2 --list" in unknown.err


# -- mlgate promote ----------------------------------------------------------------------------


def test_promote_enforces_the_gate(mg: Any, project: Project) -> None:
    refused = mg("promote", "bc:2", "--to", "production")
    assert refused.code == 1 and "bc:2 has no gate report" in flat(refused.err)
    assert "mlgate gate bc:2" in flat(refused.err)
    no_reason = mg("promote", "bc:3", "--to", "production", "--force")
    assert no_reason.code == 2 and '--force needs --reason "…"' in no_reason.err
    blocked = mg("promote", "bc:3", "--to", "production", "--gate")
    assert blocked.code == 1 and "bc:3 did not pass the gate against bc@production" in flat(blocked.err)
    gated = mg("promote", "bc:2", "--to", "production", "--gate")
    assert gated.code == 0 and "promoted bc@production: bc:1 → bc:2" in gated.out
    again = mg("promote", "bc:2", "--to", "production")
    assert again.code == 0 and "already points to bc:2; nothing changed" in again.out
    forced = mg("promote", "bc:3", "--to", "production", "--force", "--reason", "incident 42")
    assert forced.code == 0 and "forced past the gate" in forced.out
    events = mg("model", "history", "bc", "--alias", "production", "--json").json()
    report = mg("report", "bc:2", "--json").json()
    assert [(e["to_number"], e["forced"], e["gate_report"]) for e in events[1:]] == [
        (2, False, report["id"]),
        (3, True, None),
    ]
    assert events[-1]["reason"] == "incident 42"


def test_promote_with_a_report_made_beforehand(mg: Any, project: Project) -> None:
    assert mg("gate", "bc:2").code == 0
    r = mg("promote", "bc:2", "--to", "production", "--json")
    assert r.code == 0 and r.json()["gate_report"] == mg("report", "bc:2", "--json").json()["id"]


# -- bad input: each one a test ----------------------------------------------------------------


def test_evaluation_data_missing_the_target(mg: Any, project: Project) -> None:
    data = project.csv("no-target.csv", project.trained.test.drop(columns=["target"]))
    r = mg("gate", "bc:2", "--data", data)
    assert r.code == 2
    assert "no-target.csv: the target column 'target' is not in the evaluation data" in flat(r.err)
    assert "columns are: mean radius" in flat(r.err)


def test_evaluation_data_missing_a_feature(mg: Any, project: Project) -> None:
    data = project.csv("no-radius.csv", project.trained.test.drop(columns=["mean radius"]))
    r = mg("gate", "bc:2", "--data", data)
    assert r.code == 2
    assert (
        "no-radius.csv: bc:2 cannot score the evaluation data: input is missing 1 column(s) the model needs: "
        "'mean radius'" in flat(r.err)
    )


def test_target_with_classes_the_model_never_saw(mg: Any, project: Project) -> None:
    frame = project.trained.test.copy()
    frame.loc[frame.index[:3], "target"] = 7
    r = mg("gate", "bc:2", "--data", project.csv("new-class.csv", frame))
    assert r.code == 2
    assert "new-class.csv: the target 'target' has classes the model never saw: 7 (3 rows); bc:2 knows 0, 1" in flat(
        r.err
    )


def test_empty_critical_slice_fails_closed(mg: Any, project: Project) -> None:
    project.config("  - {metric: recall, vs: production, slice: '\"mean radius\" > 100', max_drop: 0.05, name: huge}\n")
    r = mg("gate", "bc:2")
    assert r.code == 1 and "gate blocked" in r.out
    assert """✘ error huge: the critical slice '"mean radius" > 100' matches no evaluation rows""" in flat(r.out)


def test_gate_naming_an_unknown_metric(mg: Any, project: Project) -> None:
    project.config("  - {metric: roc_acu, vs: production, max_drop: 0.05}\n")
    r = mg("gate", "bc:2")
    assert r.code == 2
    assert re.search(r"mlgate.yaml:3 \(gates\[0\]\): unknown metric 'roc_acu'", flat(r.err))
    assert "did you mean 'roc_auc'" in flat(r.err)


def test_metric_that_does_not_fit_a_classifier(mg: Any, project: Project) -> None:
    project.config("  - {metric: rmse, max: 0.3}\n")
    r = mg("gate", "bc:2")
    assert r.code == 2 and "(gates[0]): metric 'rmse' does not fit a binary task: it fits regression tasks" in r.err


def test_metric_that_does_not_fit_a_regressor(mg: Any, project: Project) -> None:
    frame = load_diabetes(as_frame=True).frame
    X = frame.drop(columns=["target"])
    mlgate.log_model(Ridge().fit(X, frame["target"]), "diabetes", sample_input=X.head(5), registry=project.reg)
    project.config("  - {metric: roc_auc, min: 0.7}\n")
    r = mg("gate", "diabetes:1", "--data", project.csv("diabetes.csv", frame.head(100)))
    assert r.code == 2
    assert "(gates[0]): metric 'roc_auc' does not fit a regression task: it fits binary and multiclass tasks" in r.err


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{metric: accuracy, min: high}", r"mlgate.yaml:4 \(gates\[1\]\).min: must be a number, got 'high' \(str\)"),
        (
            "{metric: accuracy, vs: production, max_drop: [1]}",
            r"mlgate.yaml:4 \(gates\[1\]\).max_drop: must be a number, got \[1\] \(list\)",
        ),
        (
            "{metric: accuracy, vs: production, min_rows: many}",
            r"mlgate.yaml:4 \(gates\[1\]\).min_rows: must be a whole number >= 1, got 'many'",
        ),
    ],
)
def test_threshold_of_the_wrong_type(mg: Any, project: Project, entry: str, message: str) -> None:
    project.config(f"  - {{metric: roc_auc, vs: production, max_drop: 0.05}}\n  - {entry}\n")
    r = mg("gate", "bc:2")
    assert r.code == 2 and re.search(message, flat(r.err)), r.err


def test_champion_whose_flavor_cannot_load_here(mg: Any, project: Project, tmp_path: Path) -> None:
    files = tmp_path / "exotic"
    files.mkdir()
    (files / "model.bin").write_bytes(b"weights of a model from a flavor this machine does not have")
    signature = project.reg.get("bc:1").signature
    project.reg.register("exotic", files, flavor="notinstalled", signature=signature)
    project.reg.set_alias("exotic", "production", 1)
    mlgate.log_model(project.trained.good, "exotic", sample_input=project.trained.X.head(5), registry=project.reg)
    r = mg("gate", "exotic:2", "--json")
    assert r.code == 1
    doc = r.json()
    by = {c["name"]: c for c in doc["checks"]}
    for name in ("roc_auc vs production", "accuracy slices vs production"):
        assert by[name]["status"] == "error"
        assert "the champion exotic:1 cannot be loaded here: unknown flavor 'notinstalled'" in by[name]["message"]
    assert by["accuracy >= 0.8"]["status"] == "pass", "the candidate is still judged on its own"
    assert doc["champion"]["flavor"] == "notinstalled" and doc["passed"] is False
    shown = mg("report", "exotic:2")
    assert shown.code == 1 and "cannot be loaded here" in flat(shown.out)


def test_no_evaluation_data_configured(mg: Any, project: Project) -> None:
    project.config(data="")
    r = mg("gate", "bc:2")
    assert r.code == 2 and "no evaluation data: pass --data FILE or set data.eval in mlgate.yaml" in r.err


@pytest.mark.parametrize("plan", [False, True], ids=["gate", "plan"])
def test_evaluation_file_missing_from_the_flag(mg: Any, project: Project, plan: bool) -> None:
    r = mg("gate", "bc:2", "--data", "data/nowhere.csv", *(["--plan"] if plan else []))
    assert r.code == 2 and "--data data/nowhere.csv does not exist" in flat(r.err), r.err
    assert "hint: check the --data path, or leave --data out to use data.eval from mlgate.yaml" in flat(r.err)


@pytest.mark.parametrize("plan", [False, True], ids=["gate", "plan"])
def test_evaluation_file_missing_from_mlgate_yaml_names_the_key_and_line(mg: Any, project: Project, plan: bool) -> None:
    project.config(data="project: bc\ndata:\n  target: target\n  eval: data/tset.csv\n")
    r = mg("gate", "bc:2", *(["--plan"] if plan else []))
    where = project.root / "mlgate.yaml"
    assert r.code == 2 and f"{where}:4: data.eval data/tset.csv does not exist" in flat(r.err), r.err
    assert str(project.root / "data") not in r.err  # shown relative to the project
    assert "hint: fix the path in mlgate.yaml" in flat(r.err) and "or pass --data FILE" in flat(r.err)


def test_evaluation_glob_in_mlgate_yaml_matching_nothing(mg: Any, project: Project) -> None:
    project.config(data="data: {eval: 'data/*.parquet', target: target}\n")
    r = mg("gate", "bc:2")
    assert r.code == 2 and f"{project.root / 'mlgate.yaml'}:1: data.eval data/*.parquet matches no files" in flat(r.err)


@pytest.mark.parametrize(
    ("content", "message"),
    [("", "data file empty.csv is empty"), ("header", "empty.csv: the evaluation data has no rows")],
)
def test_empty_evaluation_file(mg: Any, project: Project, content: str, message: str) -> None:
    text = ",".join(project.trained.test.columns) + "\n" if content == "header" else ""
    (project.root / "empty.csv").write_text(text, encoding="utf-8")
    r = mg("gate", "bc:2", "--data", "empty.csv")
    assert r.code == 2 and message in flat(r.err)


def _waived(project: Project, until: date) -> None:
    project.config(
        "  - {metric: accuracy, min: 0.999, name: near perfect}\n",
        extra=f"waivers:\n  - {{gate: near perfect, until: {until.isoformat()}, reason: ticket 7}}\n",
    )


def test_expired_waiver_is_not_applied(mg: Any, project: Project) -> None:
    until = date.today() - timedelta(days=1)
    _waived(project, until)
    r = mg("gate", "bc:2")
    assert r.code == 1 and "gate blocked" in r.out
    out = flat(r.out)
    assert f"note: the waiver for 'near perfect' expired on {until.isoformat()} and was not applied" in out
    assert "✘ fail near perfect" in out and "waived" not in out


def test_active_waiver_is_applied_and_shown(mg: Any, project: Project) -> None:
    until = date.today() + timedelta(days=30)
    _waived(project, until)
    r = mg("gate", "bc:2")
    assert r.code == 0
    out = flat(r.out)
    assert "waived near perfect: accuracy = " in out and f"(waived until {until.isoformat()}: ticket 7)" in out
    assert "gate passed:" in out and "1 waived" in out
    doc = mg("report", "bc:2", "--json").json()
    check = next(c for c in doc["checks"] if c["name"] == "near perfect")
    assert check["status"] == "fail" and check["waived"] == {"until": until.isoformat(), "reason": "ticket 7"}
