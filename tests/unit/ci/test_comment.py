"""One pull-request comment, created then updated, against a real local HTTP server speaking GitHub's API."""

from __future__ import annotations

import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlgate.ci.comment import MARKER, MAX_BODY, upsert_comment, upsert_note
from mlgate.errors import EnvironmentProblem, UsageError
from tests.unit.ci.forge_fake import (
    GITLAB_GUEST_TOKEN,
    GITLAB_TOKEN,
    READ_ONLY_TOKEN,
    WRITE_TOKEN,
    fake_github,
    fake_gitlab,
)


def test_the_first_run_creates_the_comment_and_later_runs_update_it() -> None:
    with fake_github() as gh:
        gh.comments[("acme/fraud", 7)] = [{"id": 1, "body": "LGTM", "html_url": "x"}]
        first = upsert_comment("report one", repository="acme/fraud", pull_request=7, token=WRITE_TOKEN,
                               api_url=gh.url)  # fmt: skip
        second = upsert_comment("report two", repository="acme/fraud", pull_request=7, token=WRITE_TOKEN,
                                api_url=gh.url)  # fmt: skip
        items = gh.comments[("acme/fraud", 7)]
    assert first.created and not second.created and first.id == second.id
    assert [c["body"] for c in items] == ["LGTM", f"{MARKER}\nreport two"], "one mlgate comment, the other kept"
    assert {auth for _, _, auth in gh.requests} == {f"Bearer {WRITE_TOKEN}"}
    assert [m for m, _, _ in gh.requests] == ["GET", "POST", "GET", "PATCH"]


def test_a_token_without_permission_gives_a_clear_error() -> None:
    with fake_github() as gh, pytest.raises(EnvironmentProblem, match=r"403 Resource not accessible.*lacks permission"):
        upsert_comment("r", repository="acme/fraud", pull_request=7, token=READ_ONLY_TOKEN, api_url=gh.url)
    assert gh.comments[("acme/fraud", 7)] == []


def test_a_bad_token_and_a_missing_pull_request_are_named() -> None:
    with fake_github() as gh:
        with pytest.raises(EnvironmentProblem, match=r"401 Bad credentials") as info:
            upsert_comment("r", repository="acme/fraud", pull_request=7, token="nope", api_url=gh.url)
        assert "nope" not in str(info.value), "the token is never printed"
        with pytest.raises(EnvironmentProblem, match=r"404 Not Found.*does not exist"):
            upsert_comment("r", repository="acme/fraud", pull_request=8, token=WRITE_TOKEN, api_url=gh.url)


def test_an_unreachable_api_is_an_environment_problem() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(EnvironmentProblem, match="cannot reach the GitHub API"):
        upsert_comment("r", repository="a/b", pull_request=7, token=WRITE_TOKEN, api_url=f"http://127.0.0.1:{port}")


@pytest.mark.parametrize(("repo", "token", "match"), [("acme", "t", "not owner/name"), ("a/b", "", "no token")])
def test_bad_arguments_are_usage_errors(repo: str, token: str, match: str) -> None:
    with pytest.raises(UsageError, match=match):
        upsert_comment("r", repository=repo, pull_request=7, token=token)


@settings(max_examples=15, deadline=None)
@given(body=st.text(min_size=0, max_size=200) | st.just("x" * (MAX_BODY + 500)))
def test_the_body_always_starts_with_the_marker_and_fits(body: str) -> None:
    with fake_github() as gh:
        upsert_comment(body, repository="acme/fraud", pull_request=7, token=WRITE_TOKEN, api_url=gh.url)
        (item,) = gh.comments[("acme/fraud", 7)]
    assert item["body"].startswith(MARKER) and len(item["body"]) <= MAX_BODY
    if len(body) < 1000:
        assert item["body"].endswith(body)


def test_gitlab_gets_one_note_per_merge_request_created_then_updated() -> None:
    with fake_gitlab() as gl:
        api = f"{gl.url}/api/v4"
        gl.notes[("acme%2Ffraud", 3)] = [{"id": 1, "body": "looks fine", "system": False}]
        kw = {"project": "acme/fraud", "merge_request": 3, "token": GITLAB_TOKEN, "api_url": api}
        first = upsert_note("report one", project_url="https://gitlab.example/acme/fraud", **kw)
        second = upsert_note("report two", **kw)
        notes = gl.notes[("acme%2Ffraud", 3)]
    assert first.created and not second.created and first.id == second.id
    assert first.url == f"https://gitlab.example/acme/fraud/-/merge_requests/3#note_{first.id}"
    assert [n["body"] for n in notes] == ["looks fine", f"{MARKER}\nreport two"]
    assert [m for m, _, _ in gl.requests] == ["GET", "POST", "GET", "PUT"]
    assert {token for _, _, token in gl.requests} == {GITLAB_TOKEN}  # in PRIVATE-TOKEN, nowhere else


def test_gitlab_refusals_are_named_with_what_to_do() -> None:
    with fake_gitlab() as gl:
        api = f"{gl.url}/api/v4"
        with pytest.raises(EnvironmentProblem, match=r"GitLab refused to write the merge-request note \(403") as info:
            upsert_note("r", project="42", merge_request=3, token=GITLAB_GUEST_TOKEN, api_url=api)
        assert "`api` scope" in str(info.value.hint) and "MLGATE_GITLAB_TOKEN" in str(info.value.hint)
        with pytest.raises(EnvironmentProblem, match=r"\(401 Unauthorized\)") as bad:
            upsert_note("r", project="42", merge_request=3, token="glpat-nope", api_url=api)
        assert "glpat-nope" not in str(bad.value) + str(bad.value.hint)
        with pytest.raises(EnvironmentProblem, match="404 Not found") as missing:
            upsert_note("r", project="42", merge_request=9, token=GITLAB_TOKEN, api_url=api)
        assert "CI_MERGE_REQUEST_IID" in str(missing.value.hint)
    assert gl.notes.get(("42", 3), []) == []
    with pytest.raises(UsageError, match="no token"):
        upsert_note("r", project="42", merge_request=3, token="")
