"""Small real HTTP servers speaking the parts of the GitHub and GitLab REST APIs ``mlgate ci`` uses to comment."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WRITE_TOKEN = "ghs_write"
READ_ONLY_TOKEN = "ghs_readonly"
GITLAB_TOKEN = "glpat-write"
GITLAB_GUEST_TOKEN = "glpat-guest"


class _JsonHandler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def _send(self, code: int, doc: Any) -> None:
        body = json.dumps(doc).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _payload(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length)) if length else None


@dataclass
class FakeGitHub:
    """Comments per (repo, pull request); the requests seen, with their Authorization header."""

    url: str = ""
    comments: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    next_id: int = 100


def _handler(state: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(_JsonHandler):
        def _handle(self) -> None:
            auth = self.headers.get("Authorization", "")
            state.requests.append((self.command, self.path, auth))
            token = auth.removeprefix("Bearer ")
            if token not in (WRITE_TOKEN, READ_ONLY_TOKEN):
                return self._send(401, {"message": "Bad credentials"})
            payload = self._payload()
            path = self.path.split("?")[0]
            if self.command in ("POST", "PATCH") and token == READ_ONLY_TOKEN:
                return self._send(403, {"message": "Resource not accessible by integration"})
            m = re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/(\d+)/comments", path)
            if m:
                key = (m.group(1), int(m.group(2)))
                if key[1] != 7:
                    return self._send(404, {"message": "Not Found"})
                items = state.comments.setdefault(key, [])
                if self.command == "GET":
                    return self._send(200, items)
                state.next_id += 1
                item = {"id": state.next_id, "body": payload["body"], "html_url": f"{state.url}/c/{state.next_id}"}
                items.append(item)
                return self._send(201, item)
            m = re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/comments/(\d+)", path)
            if m and self.command == "PATCH":
                for items in state.comments.values():
                    for item in items:
                        if item["id"] == int(m.group(2)):
                            item["body"] = payload["body"]
                            return self._send(200, item)
            return self._send(404, {"message": "Not Found"})

        do_GET = do_POST = do_PATCH = _handle

    return Handler


@dataclass
class FakeGitLab:
    """Notes per (project id, merge request IID); the requests seen, with their PRIVATE-TOKEN header."""

    url: str = ""
    notes: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    next_id: int = 500


def _gitlab_handler(state: FakeGitLab) -> type[BaseHTTPRequestHandler]:
    class Handler(_JsonHandler):
        def _handle(self) -> None:
            token = self.headers.get("PRIVATE-TOKEN", "")
            state.requests.append((self.command, self.path, token))
            if token not in (GITLAB_TOKEN, GITLAB_GUEST_TOKEN):
                return self._send(401, {"message": "401 Unauthorized"})
            payload = self._payload()
            path = self.path.split("?")[0]
            m = re.fullmatch(r"/api/v4/projects/([^/]+)/merge_requests/(\d+)/notes(?:/(\d+))?", path)
            if not m or m.group(2) != "3":
                return self._send(404, {"message": "404 Not found"})
            if self.command != "GET" and token == GITLAB_GUEST_TOKEN:
                return self._send(403, {"message": "403 Forbidden"})
            items = state.notes.setdefault((m.group(1), int(m.group(2))), [])
            if self.command == "GET" and m.group(3) is None:
                return self._send(200, items)
            if self.command == "POST" and m.group(3) is None:
                state.next_id += 1
                item = {"id": state.next_id, "body": payload["body"], "system": False}
                items.append(item)
                return self._send(201, item)
            if self.command == "PUT" and m.group(3) is not None:
                for item in items:
                    if item["id"] == int(m.group(3)):
                        item["body"] = payload["body"]
                        return self._send(200, item)
            return self._send(404, {"message": "404 Not found"})

        do_GET = do_POST = do_PUT = _handle

    return Handler


@contextmanager
def _serve(handler: type[BaseHTTPRequestHandler], state: Any) -> Iterator[Any]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def fake_github() -> Iterator[FakeGitHub]:
    """Serve a FakeGitHub on 127.0.0.1 (a free port) for the duration of the block."""
    state = FakeGitHub()
    with _serve(_handler(state), state):
        yield state


@contextmanager
def fake_gitlab() -> Iterator[FakeGitLab]:
    """Serve a FakeGitLab (API under ``/api/v4``) on 127.0.0.1 for the duration of the block."""
    state = FakeGitLab()
    with _serve(_gitlab_handler(state), state):
        yield state
