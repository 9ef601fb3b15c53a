"""The monitor loop end to end, as a user runs it, for the e2e tests and ``benchmarks/monitor_loop.py``.

A project in a folder (``mlgate.yaml`` with one ``monitor.rules`` entry that alerts and rolls back, a
webhook signed with a secret), a real SQLite registry, ``bc:1`` in production, a real ``mlgate serve``
process following the alias with the prediction log on, sender threads posting requests continuously,
a real webhook receiver verifying signatures, and ``mlgate monitor bc@production --follow`` in its own
process. :func:`run_loop` promotes a faulty ``bc:2`` through its gate (``mlgate promote``) and waits
until the monitor has alerted and rolled the alias back and the server answers with ``bc:1`` again.

Faults (:data:`FAULTS`): ``nan`` (``bc:2`` answers NaN outputs), ``shift`` (from the promotion on, the
traffic's ``mean radius`` is three times too large: an upstream change), ``slow`` (``bc:2`` takes three
times the good version's latency, measured on the running server first).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
SECRET = "monitor-loop-secret"
SECRET_ENV = "MLGATE_WEBHOOK_SECRET"
FAULTS = ("nan", "shift", "slow")
# the figure each fault moves, and the rule that watches it
# the slow case: bc:1 takes FLOOR_S per request (a lookup, say), bc:2 three times that; on a shared
# machine a model's own compute time varies several times over with the load, a sleep does not
FLOOR_S = 0.05
RULES = {
    "nan": "errors.rate > 0.01",
    "shift": "quality.violations > 0",
    "slow": f"latency.p50_ms > {2 * FLOOR_S * 1000:g}",
}
YAML = """\
data: {{eval: eval.csv, target: target}}
serve: {{log: logs}}
trust: {{run_code: {{models: [bc]}}}}
gates:
  - {{metric: accuracy, min: 0.8}}
monitor:
  webhooks:
    oncall: {{url: "{url}", secret_env: {secret_env}}}
  rules:
    - name: {name}
      when: {when}
      for: {windows}
      severity: critical
      actions: [alert, rollback]
"""


@dataclass
class Hook:
    """What the webhook receiver got: each request's arrival time, body, and whether its signature verified."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)

    def alerts(self, status: str) -> list[dict[str, Any]]:
        """Verified alerts with ``status`` (firing or resolved), one per delivery id."""
        seen: set[str] = set()
        out = []
        for r in self.received:
            if r["verified"] and r["body"].get("status") == status and r["delivery"] not in seen:
                seen.add(r["delivery"])
                out.append(r)
        return out


@contextmanager
def webhook_receiver() -> Iterator[Hook]:
    """A webhook endpoint on loopback that verifies mlgate's signature as a user's receiver would."""
    from mlgate.monitor.alerts import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature

    hook = Hook()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            ok = verify_signature(
                SECRET, raw, self.headers.get(TIMESTAMP_HEADER, ""), self.headers.get(SIGNATURE_HEADER, "")
            )
            hook.received.append(
                {
                    "at": time.time(),
                    "body": json.loads(raw),
                    "verified": ok,
                    "delivery": self.headers.get(DELIVERY_HEADER),
                }
            )
            self.send_response(200 if ok else 401)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Sent:
    """One request of the load generator."""

    at: float  # when the answer (or the connection error) came
    version: str  # x-mlgate-model-version of the answer; "" without one
    status: int  # 0: no answer (connection error, timeout)
    nan: bool = False  # a 200 whose predictions are null (NaN)
    took: float = 0.0  # seconds from sending to the answer


@dataclass
class LoopResult:
    """What one run of the loop saw; times are Unix seconds."""

    fault: str
    rule: str
    window_s: float
    windows: int
    interval_s: float
    sent: list[Sent]
    hook: Hook
    fault_at: float  # the promotion's alias event
    rollback_at: float | None  # the rollback's alias event
    alias_events: list[Any]
    monitor_events: list[Any]
    follow_output: str
    refused_rollback: Any = None  # the refused act of the follow-up (see ``then_refuse``)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def first_alert(self) -> dict[str, Any] | None:
        firing = [a for a in self.hook.alerts("firing") if a["body"]["version"] == "bc:2"]
        return firing[0] if firing else None

    @property
    def failed(self) -> list[Sent]:
        """Requests not answered 2xx: no answer at all, or a non-2xx status."""
        return [s for s in self.sent if not 200 <= s.status < 300]

    @property
    def faulty(self) -> set[str]:
        """The faulty versions: bc:2, and bc:3 of the follow-up."""
        return {"bc:2", "bc:3"}

    def failed_by(self) -> dict[str, int]:
        """Failed requests split by cause: the faulty versions' own answers, and everything else."""
        own = sum(1 for s in self.failed if s.version in self.faulty)
        return {"faulty version": own, "other": len(self.failed) - own}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _until(what: str, check: Callable[[], Any], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting until {what}")
        time.sleep(0.1)


def _mlgate(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "mlgate"), *args], cwd=root, env=env, capture_output=True, text=True, timeout=180, check=False
    )


def _start(cmd: list[str], root: Path, env: dict[str, str], output: Path) -> subprocess.Popen[bytes]:
    """A process whose output goes to a file: a pipe nobody reads fills, and then the process blocks."""
    with output.open("wb") as out:
        return subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)


def _stop(proc: subprocess.Popen[bytes] | None, output: Path) -> str:
    """Stop ``proc`` as Ctrl-C would (killed after 30 s); what it printed."""
    if proc is None:
        return ""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    return output.read_text(encoding="utf-8", errors="replace") if output.is_file() else ""


def run_loop(
    root: Path,
    fault: str,
    X: Any,
    y: Any,
    *,
    window_s: float = 2.0,
    windows: int = 2,
    interval_s: float = 1.0,
    senders: int = 2,
    rows: int | None = None,
    timeout: float = 90.0,
    then_refuse: bool = False,
) -> LoopResult:
    """One loop: bc:1 served under load, a faulty bc:2 promoted, the monitor alerts and rolls back.

    ``then_refuse``: afterwards a person puts bc:2 back and moves bc:3 (the same fault) on top of it;
    the monitor fires on bc:3 and refuses to roll back onto bc:2, which monitor evidence rolled back.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import mlgate
    from mlgate.config import load_settings
    from mlgate.gates.evaluate import gate
    from mlgate.registry.store import Registry
    from tests.e2e.monitor_models import ROWS, Failing

    if fault not in FAULTS:
        raise ValueError(f"fault must be one of {FAULTS}, got {fault!r}")
    rows = rows or ROWS
    root.mkdir(parents=True, exist_ok=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.4, random_state=0)
    X_train.to_parquet(root / "train.parquet")
    X_test.assign(target=y_test).to_csv(root / "eval.csv", index=False)
    url = f"sqlite:///{root / 'registry.db'}"
    env = {
        **os.environ,
        "MLGATE_REGISTRY": url,
        "MLGATE_ARTIFACTS": str(root / "artifacts"),
        SECRET_ENV: SECRET,
        "COLUMNS": "200",
    }
    good = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(X_train, y_train)
    # the traffic: test rows in requests of `rows`; in the shift case one feature triples from bc:2's first answer
    records = json.loads(X_test.to_json(orient="records"))
    shifted = threading.Event()
    stop = threading.Event()
    sent: list[Sent] = []

    with ExitStack() as stack:
        hook = stack.enter_context(webhook_receiver())
        (root / "mlgate.yaml").write_text(_yaml(hook.url, fault, windows), encoding="utf-8")
        settings = load_settings(config=root / "mlgate.yaml", registry=url, artifacts=str(root / "artifacts"))
        reg = stack.enter_context(Registry(settings=settings))
        first: Any = Failing(good, "ok", FLOOR_S) if fault == "slow" else good
        mlgate.log_model(first, "bc", sample_input=X_train.head(5), data=root / "train.parquet", registry=reg)
        reg.set_alias("bc", "production", 1, reason="release 1")
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        serve = [str(BIN / "mlgate"), "serve", "bc", "--port", str(port), "--poll", "0.2"]
        server = _start(serve, root, env, root / "serve.out")
        follow: subprocess.Popen[bytes] | None = None

        def traffic(k: int) -> None:
            import httpx

            with httpx.Client(base_url=base, timeout=10) as http:
                i = k
                while not stop.is_set():
                    start = (i * rows) % (len(records) - rows)
                    body = records[start : start + rows]
                    if shifted.is_set():
                        body = [{**r, "mean radius": r["mean radius"] * 3} for r in body]
                    i += senders
                    began = time.perf_counter()
                    try:
                        r = http.post("/predict?proba=true", json=body)
                    except httpx.TransportError:
                        sent.append(Sent(time.time(), "", 0, took=time.perf_counter() - began))
                        continue
                    took = time.perf_counter() - began
                    version = r.headers.get("x-mlgate-model-version", "")
                    nan = r.status_code == 200 and None in r.json()["predictions"]
                    sent.append(Sent(time.time(), version, r.status_code, nan, took))
                    if fault == "shift" and version == "bc:2":
                        shifted.set()  # the upstream change went out with the release, and stays

        def serving(version: str) -> bool:
            recent = [s.version for s in sent[-3 * senders :]]
            return len(recent) == 3 * senders and set(recent) == {version}

        threads = [threading.Thread(target=traffic, args=(k,), daemon=True) for k in range(senders)]
        result: LoopResult | None = None
        problem: AssertionError | None = None
        try:
            _until("the server answers", lambda: _ready(base), timeout=120)
            for t in threads:
                t.start()
            _until("bc:1 answers", lambda: serving("bc:1"), timeout=30)
            watch = [
                str(BIN / "mlgate"), "monitor", "bc@production", "--follow",
                "--window", f"{window_s:g}s", "--interval", f"{interval_s:g}s",
            ]  # fmt: skip
            follow = _start(watch, root, env, root / "follow.out")
            started = time.time()  # the follow process imports meanwhile
            faulty: Any
            if fault == "nan":
                faulty = Failing(good, "nan")
            elif fault == "slow":
                faulty = Failing(good, "slow", 3 * FLOOR_S)
            else:  # a good retrain: the fault is upstream, in the traffic
                faulty = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=5000)).fit(X_train, y_train)
            mlgate.log_model(faulty, "bc", sample_input=X_train.head(5), data=root / "train.parquet", registry=reg)
            assert gate("bc:2", against="production", config=settings, registry=reg).passed

            _until("the monitor judges bc:1's windows", lambda: _judged_after(reg, started), timeout=timeout)
            promoted = _mlgate(root, env, "promote", "bc:2", "--to", "production", "--reason", "release 2")
            assert promoted.returncode == 0, promoted.stdout + promoted.stderr
            fault_at = reg.history("bc", "production")[-1].created_at.timestamp()
            _until("the monitor rolls bc@production back", lambda: reg.aliases("bc")["production"] == 1, timeout)
            rollback = reg.history("bc", "production")[-1]
            _until("the alert reaches the webhook", lambda: bool(hook.alerts("firing")), timeout)
            _until("the server answers with bc:1 again", lambda: serving("bc:1"), timeout)
            extra: dict[str, Any] = {}
            if fault != "shift":  # the traffic is clean again: bc:1's windows resolve the rule
                _until("the resolved alert arrives", lambda: bool(hook.alerts("resolved")), timeout)
            refused = None
            if then_refuse:
                refused = _refuse_follow_up(reg, good, X_train, root, hook, timeout)
            time.sleep(interval_s + 0.5)  # one more pass: nothing more may happen
            result = LoopResult(
                fault,
                RULES[fault],
                window_s,
                windows,
                interval_s,
                sent,
                hook,
                fault_at,
                rollback.created_at.timestamp(),
                reg.history("bc", "production"),
                reg.monitor_events("bc@production", limit=1000),
                "",
                refused,
                extra,
            )
        except AssertionError as exc:
            problem = exc
        finally:
            stop.set()
            for t in threads:
                if t.is_alive():
                    t.join(15)
            out = _stop(follow, root / "follow.out")
            server_out = _stop(server, root / "serve.out")
        if problem is not None or result is None:
            raise AssertionError(
                f"{problem}\n--- mlgate monitor --follow ---\n{out[-4000:]}\n--- mlgate serve ---\n{server_out[-2000:]}"
            )
        result.follow_output = out
        result.extra["server_output"] = server_out
        return result


def _refuse_follow_up(reg: Any, good: Any, X_train: Any, root: Path, hook: Hook, timeout: float) -> Any:
    """A person puts bc:2 back and bc:3 (NaN outputs) on top; the monitor must not roll back onto bc:2."""
    import mlgate
    from tests.e2e.monitor_models import Failing

    faulty: Any = Failing(good, "nan")
    mlgate.log_model(faulty, "bc", sample_input=X_train.head(5), data=root / "train.parquet", registry=reg)
    reg.set_alias("bc", "production", 2, expect=1, reason="a person puts bc:2 back")
    reg.set_alias("bc", "production", 3, expect=2, reason="and releases bc:3", forced=True)

    def refused() -> Any:
        for e in reg.monitor_events("bc@production", limit=1000):
            if e.action == "rollback" and e.status == "refused":
                return e
        return None

    _until("the monitor refuses to roll back onto bc:2", lambda: refused() is not None, timeout)
    _until(
        "bc:3's alert reaches the webhook",
        lambda: any(a["body"]["version"] == "bc:3" for a in hook.alerts("firing")),
        timeout,
    )
    return refused()


def _yaml(url: str, fault: str, windows: int) -> str:
    when = RULES[fault]
    return YAML.format(url=url, secret_env=SECRET_ENV, name=f"{fault} fault", when=when, windows=windows)


def _ready(base: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{base}/v2/health/ready", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def _judged_after(reg: Any, started: float) -> bool:
    """Whether the follow process has judged a window that ended after it started (the rule's state)."""
    st = next(iter(reg.monitor_states("bc@production").values()), None)
    return st is not None and st.last_window is not None and st.last_window.timestamp() > started
