"""A pass judges a window only once the server's log writer has had time to write its last rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from mlgate.config import load_settings
from mlgate.monitor.follow import LOG_SETTLE, check
from mlgate.monitor.windows import window_of

UTC = dt.UTC
SECOND = dt.timedelta(seconds=1)


def test_a_window_that_just_ended_is_left_for_the_next_pass(monitored: Any, log_hour: Any, tmp_path: Path) -> None:
    folder = tmp_path / "log"
    now = dt.datetime.now(UTC)
    older, recent = now - LOG_SETTLE - 5 * SECOND, now - 1.5 * SECOND
    for when in (older, recent):  # one failed request each
        log_hour(folder, monitored.served, monitored.test, when, requests=1, status=500)
    (tmp_path / "mlgate.yaml").write_text(
        "monitor:\n  rules:\n    - {name: failing, when: errors.rate > 0.5, for: 1, actions: []}\n"
    )
    config = load_settings(cwd=tmp_path, environ={}).monitor
    args = {"registry": monitored.registry, "environ": {}, "window": SECOND}

    outcome = check("bc@production", folder, config, **args)
    assert outcome.until is not None and outcome.until <= dt.datetime.now(UTC) - LOG_SETTLE
    assert sum(w.requests for w in outcome.report.windows) == 2  # the report shows every row logged
    assert outcome.evaluation is not None
    (j,) = outcome.evaluation.judgements
    # the older window fired; the one that ended a moment ago is not judged yet, not on part of its rows
    assert j.state.streak == 1 and j.state.open and j.state.opened_at == window_of(older, SECOND).end
    assert j.state.last_window is not None and j.state.last_window < window_of(recent, SECOND).end

    # an explicit --until is taken as given: whole windows up to it are judged
    later = check("bc@production", folder, config, until=window_of(recent, SECOND).end, **args)
    (j,) = later.evaluation.judgements if later.evaluation else ()
    assert j.state.streak == 2 and j.state.last_window == window_of(recent, SECOND).end


def test_acts_name_a_window_that_ends_within_a_minute_to_the_second() -> None:
    from mlgate.monitor.rules import stamp

    assert stamp(dt.datetime(2024, 5, 1, 12, 0, tzinfo=UTC)) == "2024-05-01T12:00Z"
    assert stamp(dt.datetime(2024, 5, 1, 12, 0, 42, tzinfo=UTC)) == "2024-05-01T12:00:42Z"
