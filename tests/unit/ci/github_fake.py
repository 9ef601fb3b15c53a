"""A small real HTTP server that speaks the part of the GitHub REST API ``mlgate ci`` uses for comments."""

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


@dataclass
class FakeGitHub:
    """Comments per (repo, pull request); the requests seen, with their Authorization header."""

    url: str = ""
    comments: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    next_id: int = 100


def _handler(state: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def _send(self, code: int, doc: Any) -> None:
            body = json.dumps(doc).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _handle(self) -> None:
            auth = self.headers.get("Authorization", "")
            state.requests.append((self.command, self.path, auth))
            token = auth.removeprefix("Bearer ")
            if token not in (WRITE_TOKEN, READ_ONLY_TOKEN):
                return self._send(401, {"message": "Bad credentials"})
            length = int(self.headers.get("Content-Length") or 0)
            payload = json.loads(self.rfile.read(length)) if length else None
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


@contextmanager
def fake_github() -> Iterator[FakeGitHub]:
    """Serve a FakeGitHub on 127.0.0.1 (a free port) for the duration of the block."""
    state = FakeGitHub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
