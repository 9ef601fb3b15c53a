"""A real webhook receiver on loopback: verifies mlgate's signature the way a user's receiver would."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mlgate.monitor.alerts import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature

SECRET = "s3cret-for-tests"


@dataclass
class Receiver:
    """What arrived (verified or not) and the statuses to answer with, one per request, then 200."""

    url: str = ""
    script: list[int] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)

    @property
    def accepted(self) -> list[dict[str, Any]]:
        """Requests answered 200 with a valid signature, one per delivery id (repeats dropped, as documented)."""
        seen: set[str] = set()
        out = []
        for r in self.received:
            if r["status"] == 200 and r["verified"] and r["delivery"] not in seen:
                seen.add(r["delivery"])
                out.append(r)
        return out


@contextmanager
def webhook_receiver(script: list[int] | None = None) -> Iterator[Receiver]:
    """Serve on 127.0.0.1 on a free port until the block ends."""
    state = Receiver(script=list(script or []))

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            verified = verify_signature(
                SECRET, raw, self.headers.get(TIMESTAMP_HEADER, ""), self.headers.get(SIGNATURE_HEADER, "")
            )
            status = state.script.pop(0) if state.script else (200 if verified else 401)
            state.received.append(
                {
                    "body": json.loads(raw),
                    "raw": raw,
                    "verified": verified,
                    "delivery": self.headers.get(DELIVERY_HEADER),
                    "timestamp": self.headers.get(TIMESTAMP_HEADER),
                    "signature": self.headers.get(SIGNATURE_HEADER),
                    "status": status,
                }
            )
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
