"""The quickstart's serving step, on a real registry and a real ``mlgate serve`` process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlgate.config import load_settings
from mlgate.registry.store import Registry
from mlgate.serve.demo import serve_demo


def test_serve_demo_shows_the_server_switching_versions(seeded_template: Any, tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    import mlgate

    X, y = seeded_template.X, seeded_template.y
    root = tmp_path / "project"
    (root / "data").mkdir(parents=True)
    X.assign(target=y).iloc[400:].to_csv(root / "data" / "test.csv", index=False)
    settings = load_settings(registry=f"sqlite:///{root / 'reg.db'}", artifacts=str(root / "artifacts"), cwd=root)
    reg = Registry(settings=settings)
    try:
        for model in (LogisticRegression(max_iter=3000).fit(X, y), DecisionTreeClassifier(max_depth=2).fit(X, y)):
            mlgate.log_model(model, "breast-cancer", sample_input=X.head(10), registry=reg)
        reg.set_alias("breast-cancer", "production", 1)
        said: list[tuple[Any, ...]] = []
        result = serve_demo(
            root,
            settings,
            reg,
            lambda *a: said.append(a),
            lambda: reg.set_alias("breast-cancer", "production", 2),
        )
    finally:
        reg.close()
    assert result["before"] == "breast-cancer:1" and result["after"] == "breast-cancer:2"
    assert result["versions"] == ["breast-cancer:1", "breast-cancer:2"]
    assert 0 < result["switch_s"] < 15 and result["latency_ms"] > 0
    assert len(result["response"]["predictions"]) == 3
    assert any("switched from breast-cancer:1 to breast-cancer:2" in a[1] for a in said)
    assert any(a[0] == "out" and "predictions" in a[1] for a in said)
