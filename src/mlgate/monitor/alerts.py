"""Alert webhooks: a generic JSON body or Slack-compatible text, HMAC-SHA256 signed with a timestamp, retried.

Every request carries three headers:

- ``X-Mlgate-Timestamp``: Unix seconds when it was signed;
- ``X-Mlgate-Signature``: ``v1=`` and the hex HMAC-SHA256, keyed with the webhook's secret, of
  ``"{timestamp}.{body}"`` (the body's exact bytes);
- ``X-Mlgate-Delivery``: one id per alert (the same on every retry), so a receiver can drop repeats.

A receiver recomputes the HMAC over the timestamp and the raw body, compares in constant time, and
refuses a timestamp more than five minutes from its clock (:func:`verify_signature` does all three), so
a captured request cannot be replayed later and a retried one is recognised by its delivery id.

Delivery tries ``attempts`` times with exponential backoff (``backoff`` × 2ⁿ seconds, at most
``max_backoff``; ``Retry-After`` is honoured up to the same cap) on connection errors, timeouts, 429
and 5xx; any other 4xx is final (retrying cannot fix a wrong URL or secret).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

from mlgate.errors import UsageError

SIGNATURE_HEADER = "X-Mlgate-Signature"
TIMESTAMP_HEADER = "X-Mlgate-Timestamp"
DELIVERY_HEADER = "X-Mlgate-Delivery"
TOLERANCE_S = 300
FORMAT = "mlgate.alert/1"


@dataclass(frozen=True)
class Alert:
    """What one alert says: a rule fired or resolved on a monitored reference, with its evidence."""

    status: str  # firing, resolved
    rule: str
    condition: str
    severity: str
    subject: str  # the monitored reference as given: fraud@production
    version: str  # the version the report judged: fraud:3
    value: float
    windows: int  # windows in a row the condition held
    window_start: str
    window_end: str
    evidence: str  # the monitor report's digest
    actions: tuple[str, ...] = ()
    summary: str = ""

    @property
    def delivery_id(self) -> str:
        """The same for every retry and rerun of this alert (rule, status and the window it happened in)."""
        key = f"{self.subject}\0{self.rule}\0{self.status}\0{self.window_end}"
        return hashlib.sha256(key.encode()).hexdigest()[:32]

    def to_dict(self) -> dict[str, Any]:
        """The generic JSON body."""
        return {
            "format": FORMAT,
            "status": self.status,
            "rule": self.rule,
            "condition": self.condition,
            "severity": self.severity,
            "subject": self.subject,
            "version": self.version,
            "value": self.value,
            "windows": self.windows,
            "window": {"start": self.window_start, "end": self.window_end},
            "evidence": self.evidence,
            "actions": list(self.actions),
            "summary": self.summary,
        }

    def text(self) -> str:
        """One line for people (the Slack body)."""
        mark = {"firing": ":rotating_light:", "resolved": ":white_check_mark:"}.get(self.status, "")
        head = f"{mark} [{self.severity}] {self.subject} ({self.version}): {self.rule}"
        if self.status == "firing":
            body = f"{self.condition} held for {self.windows} window(s), now {self.value:g}"
        else:
            body = f"resolved: {self.condition.split(' ')[0]} = {self.value:g}"
        acts = f" · actions: {', '.join(self.actions)}" if self.actions and self.status == "firing" else ""
        return f"{head} — {body} (window ending {self.window_end}){acts} · evidence {self.evidence}"


def body(alert: Alert, fmt: str) -> bytes:
    """The request body in a webhook's format: ``json`` (the alert) or ``slack`` (``{"text": …}``)."""
    if fmt == "json":
        doc: dict[str, Any] = alert.to_dict()
    elif fmt == "slack":
        doc = {"text": alert.text()}
    else:
        raise UsageError(f"webhook format must be json or slack, got {fmt!r}")
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def sign(secret: str, payload: bytes, timestamp: int) -> str:
    """``v1=<hex HMAC-SHA256 of "{timestamp}.{payload}">``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def verify_signature(
    secret: str,
    payload: bytes,
    timestamp: str,
    signature: str,
    *,
    tolerance_s: float = TOLERANCE_S,
    now: float | None = None,
) -> bool:
    """What a receiver checks: the signature matches the raw body and timestamp, and the timestamp is fresh."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((time.time() if now is None else now) - ts) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, payload, ts), signature)


@dataclass(frozen=True)
class Delivery:
    """How one webhook delivery went."""

    webhook: str
    delivered: bool
    attempts: int
    status: int | None  # the last HTTP status (None: no answer)
    detail: str


def deliver(
    name: str,
    url: str,
    alert: Alert,
    *,
    fmt: str = "json",
    secret: str | None = None,
    attempts: int = 4,
    backoff: float = 0.5,
    max_backoff: float = 30.0,
    timeout: float = 10.0,
) -> Delivery:
    """POST the alert to one webhook, signed when there is a secret, retrying what a retry can fix."""
    import urllib.error
    import urllib.request

    payload = body(alert, fmt)
    last: int | None = None
    detail = ""
    for attempt in range(1, attempts + 1):
        ts = int(time.time())  # signed afresh on each try, so a slow retry is not refused as stale
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "mlgate-monitor",
            DELIVERY_HEADER: alert.delivery_id,
        }
        if secret:
            headers[TIMESTAMP_HEADER] = str(ts)
            headers[SIGNATURE_HEADER] = sign(secret, payload, ts)
        req = urllib.request.Request(url, data=payload, headers=headers, method="POST")
        wait = min(max_backoff, backoff * 2 ** (attempt - 1))
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return Delivery(name, True, attempt, resp.status, f"HTTP {resp.status}")
        except urllib.error.HTTPError as exc:
            last, detail = exc.code, f"HTTP {exc.code} {exc.reason}"
            if exc.code != 429 and exc.code < 500:
                return Delivery(name, False, attempt, last, f"{detail}: not retried (check the URL and the secret)")
            retry_after = exc.headers.get("Retry-After") if exc.headers else None
            if retry_after and retry_after.strip().isdigit():
                wait = min(max_backoff, float(retry_after))
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            last, detail = None, f"unreachable: {getattr(exc, 'reason', exc)}"
        if attempt < attempts:
            time.sleep(wait)
    return Delivery(name, False, attempts, last, f"{detail} (gave up after {attempts} attempts)")
