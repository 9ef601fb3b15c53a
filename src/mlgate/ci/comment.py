"""One pull-request comment, created once and updated on every later run, through the GitHub REST API.

The comment is found again by a hidden HTML marker at the start of its body, so a pull request never
collects one comment per push. Only the standard library talks HTTP (``urllib``); the token travels in
the ``Authorization`` header and is never printed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mlgate.errors import EnvironmentProblem, UsageError

MARKER = "<!-- mlgate-ci-report -->"
DEFAULT_API_URL = "https://api.github.com"
MAX_BODY = 65_000  # GitHub refuses comment bodies over 65,536 characters
MAX_PAGES = 50


@dataclass(frozen=True)
class CommentResult:
    """Where the comment lives and whether this call created it (else it updated the earlier one)."""

    url: str
    id: int
    created: bool


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
    text = body if body.startswith(MARKER) else f"{MARKER}\n{body}"
    if len(text) > MAX_BODY:
        cut = "\n\n… (cut: the whole report is in the workflow artifact)\n"
        text = text[: MAX_BODY - len(cut)] + cut
    base = api_url.rstrip("/")
    existing = _find(base, repository, pull_request, token, timeout)
    payload = {"body": text}
    if existing is not None:
        doc = _request("PATCH", f"{base}/repos/{repository}/issues/comments/{existing}", token, timeout, payload)
        return CommentResult(str(doc.get("html_url", "")), int(doc["id"]), created=False)
    doc = _request("POST", f"{base}/repos/{repository}/issues/{pull_request}/comments", token, timeout, payload)
    return CommentResult(str(doc.get("html_url", "")), int(doc["id"]), created=True)


def _find(base: str, repository: str, pull_request: int, token: str, timeout: float) -> int | None:
    for page in range(1, MAX_PAGES + 1):
        url = f"{base}/repos/{repository}/issues/{pull_request}/comments?per_page=100&page={page}"
        comments = _request("GET", url, token, timeout)
        if not isinstance(comments, list):
            raise EnvironmentProblem(f"GitHub answered {url} with something that is not a list of comments")
        for c in comments:
            if isinstance(c, dict) and str(c.get("body") or "").startswith(MARKER):
                return int(c["id"])
        if len(comments) < 100:
            return None
    return None


def _request(method: str, url: str, token: str, timeout: float, payload: dict[str, Any] | None = None) -> Any:
    import urllib.error
    import urllib.request

    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Accept", "application/vnd.github+json")
    req.add_header("Authorization", f"Bearer {token}")
    req.add_header("X-GitHub-Api-Version", "2022-11-28")
    req.add_header("User-Agent", "mlgate-ci")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        raise _http_error(method, url, exc) from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise EnvironmentProblem(
            f"cannot reach the GitHub API at {url.split('/repos/')[0]}: {reason}",
            hint="check network access from the runner, or GITHUB_API_URL on GitHub Enterprise",
        ) from None
    except ValueError as exc:
        raise EnvironmentProblem(f"GitHub answered {method} {url} with invalid JSON: {exc}") from None


def _http_error(method: str, url: str, exc: Any) -> EnvironmentProblem:
    try:
        message = json.loads(exc.read() or b"{}").get("message") or exc.reason
    except (ValueError, AttributeError, OSError):
        message = exc.reason
    what = f"GitHub refused to {'read' if method == 'GET' else 'write'} the pull-request comment"
    if exc.code in (401, 403):
        return EnvironmentProblem(
            f"{what} ({exc.code} {message}): the token lacks permission to comment on pull requests",
            hint="give the workflow `permissions: pull-requests: write`, or use a token with that scope; "
            "the report was still written",
        )
    if exc.code == 404:
        return EnvironmentProblem(
            f"{what} (404 {message}): the repository or pull request does not exist, or the token cannot see it",
            hint="check --repo and --pr (GITHUB_REPOSITORY and GITHUB_REF in Actions)",
        )
    return EnvironmentProblem(f"{what} ({exc.code} {message}) at {method} {url}")
