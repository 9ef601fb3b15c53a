"""One report comment per pull request (GitHub) or merge request (GitLab), created once and updated after.

The comment is found again by a hidden HTML marker at the start of its body, so a pull request never
collects one comment per push. Only the standard library talks HTTP (``urllib``); the token travels in
a header and is never printed.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass
from typing import Any

from mlgate.errors import EnvironmentProblem, UsageError

MARKER = "<!-- mlgate-ci-report -->"
DEFAULT_API_URL = "https://api.github.com"
DEFAULT_GITLAB_API_URL = "https://gitlab.com/api/v4"
MAX_BODY = 65_000  # GitHub refuses comment bodies over 65,536 characters
MAX_GITLAB_BODY = 1_000_000  # GitLab's limit on a note
MAX_PAGES = 50


@dataclass(frozen=True)
class CommentResult:
    """Where the comment lives and whether this call created it (else it updated the earlier one)."""

    url: str
    id: int
    created: bool


@dataclass(frozen=True)
class _Forge:
    """How one service is spoken to: its name in messages, its auth header, and what to advise."""

    name: str
    thing: str  # "pull-request comment" / "merge-request note"
    headers: dict[str, str]
    permission_hint: str
    not_found_hint: str
    reach_hint: str


def _body(body: str, limit: int) -> str:
    text = body if body.startswith(MARKER) else f"{MARKER}\n{body}"
    if len(text) > limit:
        cut = "\n\n… (cut: the whole report is in the workflow artifact)\n"
        text = text[: limit - len(cut)] + cut
    return text


def upsert_comment(
    body: str,
    *,
    repository: str,
    pull_request: int,
    token: str,
    api_url: str = DEFAULT_API_URL,
    timeout: float = 30.0,
) -> CommentResult:
    """Create the pull request's mlgate comment, or update it when one with the marker exists."""
    if "/" not in repository.strip("/") or repository.count("/") != 1:
        raise UsageError(f"repository {repository!r} is not owner/name", hint="pass --repo owner/name")
    if not token:
        raise UsageError("no token to comment with", hint="pass --token or set MLGATE_GITHUB_TOKEN")
    forge = _Forge(
        "GitHub",
        "pull-request comment",
        {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {token}",
            "X-GitHub-Api-Version": "2022-11-28",
        },
        permission_hint="give the workflow `permissions: pull-requests: write`, or use a token with that scope; "
        "the report was still written",
        not_found_hint="check --repo and --pr (GITHUB_REPOSITORY and GITHUB_REF in Actions)",
        reach_hint="check network access from the runner, or GITHUB_API_URL on GitHub Enterprise",
    )
    text = _body(body, MAX_BODY)
    base = f"{api_url.rstrip('/')}/repos/{repository}/issues"
    existing = _find(forge, f"{base}/{pull_request}/comments", timeout)
    payload = {"body": text}
    if existing is not None:
        doc = _request(forge, "PATCH", f"{base}/comments/{existing}", timeout, payload)
        return CommentResult(str(doc.get("html_url", "")), int(doc["id"]), created=False)
    doc = _request(forge, "POST", f"{base}/{pull_request}/comments", timeout, payload)
    return CommentResult(str(doc.get("html_url", "")), int(doc["id"]), created=True)


def upsert_note(
    body: str,
    *,
    project: str,
    merge_request: int,
    token: str,
    api_url: str = DEFAULT_GITLAB_API_URL,
    project_url: str | None = None,
    timeout: float = 30.0,
) -> CommentResult:
    """Create the merge request's mlgate note, or update it when one with the marker exists.

    ``project`` is GitLab's numeric id (``CI_PROJECT_ID``) or the ``group/name`` path; ``project_url``
    (``CI_PROJECT_URL``) only builds the note's link. The token is a project or personal access token
    with the ``api`` scope: GitLab's job token cannot write notes.
    """
    if not project.strip("/"):
        raise UsageError("no GitLab project to comment on", hint="pass --repo (CI_PROJECT_ID in GitLab CI)")
    if not token:
        raise UsageError("no token to comment with", hint="pass --token or set MLGATE_GITLAB_TOKEN")
    forge = _Forge(
        "GitLab",
        "merge-request note",
        {"PRIVATE-TOKEN": token},
        permission_hint="use a project access token with the `api` scope and at least the Reporter role, "
        "in a masked CI/CD variable MLGATE_GITLAB_TOKEN (the job token cannot write notes); "
        "the report was still written",
        not_found_hint="check --repo and --pr (CI_PROJECT_ID and CI_MERGE_REQUEST_IID in a merge-request pipeline)",
        reach_hint="check network access from the runner, or CI_API_V4_URL on a self-managed GitLab",
    )
    text = _body(body, MAX_GITLAB_BODY)
    ident = urllib.parse.quote(project.strip("/"), safe="")
    base = f"{api_url.rstrip('/')}/projects/{ident}/merge_requests/{merge_request}/notes"
    existing = _find(forge, f"{base}?sort=asc&order_by=created_at", timeout)
    payload = {"body": text}
    if existing is not None:
        doc = _request(forge, "PUT", f"{base}/{existing}", timeout, payload)
        created = False
    else:
        doc = _request(forge, "POST", base, timeout, payload)
        created = True
    note = int(doc["id"])
    link = f"{project_url.rstrip('/')}/-/merge_requests/{merge_request}#note_{note}" if project_url else ""
    return CommentResult(link, note, created=created)


def _find(forge: _Forge, url: str, timeout: float) -> int | None:
    """The id of the first comment on ``url`` (a listing) whose body starts with the marker."""
    sep = "&" if "?" in url else "?"
    for page in range(1, MAX_PAGES + 1):
        listing = f"{url}{sep}per_page=100&page={page}"
        comments = _request(forge, "GET", listing, timeout)
        if not isinstance(comments, list):
            raise EnvironmentProblem(f"{forge.name} answered {listing} with something that is not a list of comments")
        for c in comments:
            if isinstance(c, dict) and str(c.get("body") or "").startswith(MARKER):
                return int(c["id"])
        if len(comments) < 100:
            return None
    return None


def _request(forge: _Forge, method: str, url: str, timeout: float, payload: dict[str, Any] | None = None) -> Any:
    import urllib.error
    import urllib.request

    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    for key, value in forge.headers.items():
        req.add_header(key, value)
    req.add_header("User-Agent", "mlgate-ci")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        raise _http_error(forge, method, url, exc) from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        api = url.split("/repos/")[0].split("/projects/")[0]
        raise EnvironmentProblem(
            f"cannot reach the {forge.name} API at {api}: {reason}", hint=forge.reach_hint
        ) from None
    except ValueError as exc:
        raise EnvironmentProblem(f"{forge.name} answered {method} {url} with invalid JSON: {exc}") from None


def _http_error(forge: _Forge, method: str, url: str, exc: Any) -> EnvironmentProblem:
    try:
        doc = json.loads(exc.read() or b"{}")
        message = doc.get("message") or doc.get("error") or exc.reason
    except (ValueError, AttributeError, OSError):
        message = exc.reason
    message = str(message).removeprefix(f"{exc.code} ")  # GitLab says "401 Unauthorized"
    what = f"{forge.name} refused to {'read' if method == 'GET' else 'write'} the {forge.thing}"
    if exc.code in (401, 403):
        return EnvironmentProblem(
            f"{what} ({exc.code} {message}): the token lacks permission to comment", hint=forge.permission_hint
        )
    if exc.code == 404:
        return EnvironmentProblem(
            f"{what} (404 {message}): the project or request does not exist, or the token cannot see it",
            hint=forge.not_found_hint,
        )
    return EnvironmentProblem(f"{what} ({exc.code} {message}) at {method} {url}")
