"""Real `mlgate serve` replicas, a load generator and whole rollouts on them, for the e2e tests and the benchmark.

:func:`serve` starts replicas as a user does (``mlgate serve NAME --port P --poll S``), each writing its
output to a file; :class:`Load` sends random 5-row requests at a steady rate to each and records what
every response said (the version header, the variant, the status, null predictions); :func:`run_rollout`
puts one canary (healthy or with one fault) through ``mlgate rollout start`` and ``mlgate rollout run
--follow`` on two replicas under that load, with a real webhook receiver for the abort alert, and returns
everything the tests assert on and ``benchmarks/delivery.py --section e2e`` counts.

Times come from two clocks on one machine: the load generator's ``time.time()`` when a request is sent,
and the registry's rollout events (written by the controller, UTC). Both are the system clock.
"""

from __future__ import annotations

import json
import math
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

BIN = Path(sys.executable).parent
MODES = ("healthy", "flaky", "nan", "slow", "shifted")
# the analysis metric each fault must fail
FAILS = {"flaky": "error_rate", "nan": "error_rate", "slow": "latency", "shifted": "prediction_shift"}
# about how many canary requests the default-level analysis needs to decide (simulated with these faults'
# sizes: 5% errors ~300 (400 here: the margin an interval needs), NaN in 10% of rows, 2x latency, half a
# deviation; a healthy canary's pass)
NEED = {"flaky": 400, "nan": 60, "slow": 150, "shifted": 130, "healthy": 400}
# an interval also covers the log's flush (1 s) and one tick's read of the log
SLACK_S = 2.5
# a liveness margin, not a performance figure: the benchmark reports how late replicas really stop
SCHEDULER_SLACK_S = 1.0
HOOK_SECRET_ENV = "MLGATE_E2E_HOOK_SECRET"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(root: Path, env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``mlgate ARGS`` in ``root`` as a user would, capturing its output."""
    return subprocess.run(
        [str(BIN / "mlgate"), *args], cwd=root, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def until(what: str, check: Callable[[], Any], timeout: float = 60) -> None:
    """Wait until ``check()`` is true; AssertionError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.05)


def _stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Replica:
    """One running ``mlgate serve`` process; its output goes to ``log`` (a pipe nobody reads would fill up)."""

    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        """Its base URL."""
        return f"http://127.0.0.1:{self.port}"

    def tail(self, lines: int = 30) -> str:
        """The last lines the server wrote, for a failure message."""
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def answers(self) -> bool:
        """Whether it scores a request (an empty one: any answer below 500)."""
        try:
            return httpx.post(f"{self.url}/predict", json=[], timeout=5).status_code < 500
        except httpx.TransportError:
            return False


@contextmanager
def serve(
    root: Path, env: dict[str, str], name: str, *, replicas: int = 1, poll: float = 0.2, timeout: float = 90
) -> Iterator[list[Replica]]:
    """Start ``replicas`` ``mlgate serve NAME`` processes in ``root``, wait until each answers, stop them at the end."""
    started: list[Replica] = []
    try:
        for i in range(replicas):
            port = free_port()
            log = root / f"serve-{i}.log"
            with log.open("wb") as out:
                proc = subprocess.Popen(
                    [str(BIN / "mlgate"), "serve", name, "--port", str(port), "--poll", str(poll)],
                    cwd=root,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            started.append(Replica(port, proc, log))
        for r in started:
            try:
                until(f"the replica on port {r.port} answers", r.answers, timeout=timeout)
            except AssertionError:
                raise AssertionError(f"replica on port {r.port} never answered; it wrote:\n{r.tail()}") from None
        yield started
    finally:
        for r in started:
            _stop(r.proc)


@dataclass(frozen=True)
class Sent:
    """One request the load generator sent and what came back."""

    replica: int
    at: float  # time.time() when it was sent
    took: float  # seconds until the answer (or the error)
    version: str  # x-mlgate-model-version; "" when no response came
    variant: str  # x-mlgate-variant: primary or canary
    status: int  # 0: no response (a connection error or a timeout)
    failure: str = ""  # what failed: the error body or the transport error
    nulls: int = 0  # predictions that came back null (a NaN the model returned)

    @property
    def failed(self) -> bool:
        """Not a 2xx answer, or no answer at all."""
        return not 200 <= self.status < 300


class Load:
    """Random ``rows_per_request``-row requests to each replica at ``rate`` requests a second, from ``workers`` threads.

    Each worker keeps its own schedule (a steady pace, no catching up in bursts) and its own client, so a
    slow answer delays only that worker's next request. Every answer is kept in ``sent``.
    """

    def __init__(
        self,
        urls: list[str],
        rows: list[dict[str, Any]],
        *,
        rate: float = 60.0,
        workers: int = 2,
        rows_per_request: int = 5,
        seed: int = 0,
    ) -> None:
        self.urls = urls
        self.rows = rows
        self.period = workers / rate
        self.workers = workers
        self.size = rows_per_request
        self.seed = seed
        self.sent: list[Sent] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> Load:
        for i, url in enumerate(self.urls):
            for w in range(self.workers):
                t = threading.Thread(target=self._work, args=(i, url, self.seed * 1000 + i * 100 + w), daemon=True)
                self._threads.append(t)
                t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop sending and wait for the requests in flight."""
        self._stop.set()
        for t in self._threads:
            t.join(30)

    def _work(self, replica: int, url: str, seed: int) -> None:
        import random

        rng = random.Random(seed)
        with httpx.Client(base_url=url, timeout=10) as http:
            due = time.monotonic() + rng.random() * self.period  # the workers start out of step
            while not self._stop.is_set():
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                due = max(due + self.period, time.monotonic())
                body = rng.sample(self.rows, self.size)
                at, t0 = time.time(), time.perf_counter()
                try:
                    r = http.post("/predict", json=body)
                except httpx.TransportError as exc:
                    self.sent.append(Sent(replica, at, time.perf_counter() - t0, "", "", 0, f"{type(exc).__name__}"))
                    continue
                took = time.perf_counter() - t0
                nulls, failure = 0, ""
                if r.status_code == 200:
                    nulls = sum(p is None for p in r.json()["predictions"])
                else:
                    failure = r.text[:300]
                version = r.headers.get("x-mlgate-model-version", "")
                variant = r.headers.get("x-mlgate-variant", "")
                self.sent.append(Sent(replica, at, took, version, variant, r.status_code, failure, nulls))


class Controller:
    """``mlgate rollout run TARGET --follow --interval S`` in the background, its lines kept as they come."""

    def __init__(self, root: Path, env: dict[str, str], target: str, interval: float) -> None:
        self.lines: list[tuple[float, str]] = []
        self.proc = subprocess.Popen(
            [str(BIN / "mlgate"), "rollout", "run", target, "--follow", "--interval", f"{interval:g}s"],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append((time.time(), line.rstrip("\n")))

    @property
    def output(self) -> str:
        """Everything it printed so far."""
        return "\n".join(line for _, line in self.lines)

    def wait(self, timeout: float) -> int:
        """Its exit code; it is stopped (and AssertionError raised) after ``timeout`` seconds."""
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop(self.proc)
            raise AssertionError(f"the controller did not finish in {timeout:.0f} s:\n{self.output}") from None
        self._reader.join(10)
        return code

    def close(self) -> None:
        """Stop it if it still runs."""
        _stop(self.proc)
        self._reader.join(10)
        if self.proc.stdout:
            self.proc.stdout.close()


def yaml_text(hook_url: str, *, min_requests: int = 100) -> str:
    """The project's mlgate.yaml: steps 50 then 100, no pause, a short deadline, the abort alert to ``hook_url``."""
    return f"""\
data: {{eval: eval.csv, target: target}}
serve: {{log: logs}}
trust: {{run_code: {{models: [bc]}}}}
gates:
  - {{metric: accuracy, min: 0.8}}
monitor:
  webhooks:
    oncall: {{url: "{hook_url}", secret_env: {HOOK_SECRET_ENV}}}
delivery:
  steps: [50, 100]
  pause: 0s
  analyses:
    # the default level (alpha 0.01); a canary 2x slower, shifted by half a deviation or failing 5% must fail
    default: {{min_requests: {min_requests}, max_latency_ratio: 1.5, max_prediction_shift: 0.25, deadline: 2m}}
"""


@dataclass
class Project:
    """A project folder with its registry: ``bc:1`` (logistic regression) holds ``bc@production``."""

    root: Path
    env: dict[str, str]
    settings: Any
    X: Any
    y: Any

    def registry(self) -> Any:
        """A Registry on the project's database (close it: use it in a with block)."""
        from mlgate.registry.store import Registry

        return Registry(settings=self.settings)

    @property
    def rows(self) -> list[dict[str, Any]]:
        """Every row of the data as request records."""
        return list(json.loads(self.X.to_json(orient="records")))


def make_project(root: Path, breast_cancer: tuple[Any, Any], hook_url: str, secret: str) -> Project:
    """Write the project (the even rows as evaluation data) and register and alias the stable ``bc:1``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import mlgate
    from mlgate.config import load_settings
    from mlgate.registry.store import Registry

    root.mkdir(parents=True, exist_ok=True)
    X, y = breast_cancer
    X.assign(target=y).iloc[::2].to_csv(root / "eval.csv", index=False)
    (root / "mlgate.yaml").write_text(yaml_text(hook_url), encoding="utf-8")
    url = f"sqlite:///{root / 'registry.db'}"
    env = {
        **os.environ,
        "MLGATE_REGISTRY": url,
        "MLGATE_ARTIFACTS": str(root / "artifacts"),
        "COLUMNS": "200",
        HOOK_SECRET_ENV: secret,
    }
    settings = load_settings(config=root / "mlgate.yaml", registry=url, artifacts=str(root / "artifacts"))
    stable = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(X, y)
    with Registry(settings=settings) as reg:
        mlgate.log_model(stable, "bc", sample_input=X.head(3), registry=reg)
        reg.set_alias("bc", "production", 1)
    return Project(root, env, settings, X, y)


def register_candidate(project: Project, mode: str, *, delay_s: float = 0.0, variant: int = 0) -> str:
    """Register the next version: healthy (another regularisation each ``variant``) or the stable model with
    fault ``mode``; gate it against ``bc@production``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import mlgate
    from mlgate.gates.evaluate import gate
    from tests.e2e.rollout_models import Faulty

    X, y = project.X, project.y
    if mode == "healthy":
        model: Any = make_pipeline(StandardScaler(), LogisticRegression(C=0.5 / (1 + variant), max_iter=5000))
        model = model.fit(X, y)
    else:
        base = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(X, y)
        model = Faulty(base, mode, delay_s=delay_s)
    with project.registry() as reg:
        mv = mlgate.log_model(model, "bc", sample_input=X.head(3), registry=reg)
        report = gate(mv.ref, against="production", config=project.settings, registry=reg)
        assert report.passed, f"{mv.ref} ({mode}) must pass its gate: the fault shows only when it serves"
    return str(mv.ref)


def stable_latency_ms(project: Project, version: int) -> float:
    """The median latency the stable version's requests logged (what "twice as slow" doubles)."""
    import polars as pl

    files = sorted((project.root / "logs").glob(f"model=bc/version={version}/**/*.parquet"))
    assert files, "the replicas logged nothing"
    frame = pl.concat([pl.read_parquet(f, columns=["request_id", "latency_ms"]) for f in files])
    return float(frame.group_by("request_id").agg(pl.col("latency_ms").first())["latency_ms"].median())  # type: ignore[arg-type]


def _primary(load: Load, replica: int, version: str) -> Callable[[], bool]:
    def check() -> bool:
        return any(s.replica == replica and s.version == version and s.variant == "primary" for s in load.sent[-20:])

    return check


def _utc(when: datetime) -> float:
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


@dataclass
class RolloutRun:
    """One rollout on two replicas under load: what the controller, the registry, the replicas and the hook saw."""

    mode: str
    candidate: str
    interval: float
    poll: float
    code: int  # the controller's exit code
    output: str  # what it printed
    sent: list[Sent]
    rollout: dict[str, Any]
    events: list[dict[str, Any]]  # each with "at": Unix seconds
    holder: int  # the version bc@production holds at the end
    alerts: list[dict[str, Any]]  # what the webhook receiver accepted (signature verified)
    evidence: dict[str, Any] | None  # the stored evidence the alert names
    replicas: int = 2
    stable_ms: float = 0.0  # the stable's median logged latency before the rollout
    rate: float = 0.0  # requests a second the load generator sustained before the rollout (both replicas)
    notes: list[str] = field(default_factory=list)

    def event(self, kind: str) -> dict[str, Any] | None:
        """The first recorded event of ``kind``."""
        return next((e for e in self.events if e["kind"] == kind), None)

    @property
    def canary(self) -> list[Sent]:
        """The requests the candidate served while it was the canary."""
        return [s for s in self.sent if s.version == self.candidate and s.variant == "canary"]

    @property
    def first_canary_at(self) -> float | None:
        """When the first request the canary served was sent: the first bad request of a faulty canary."""
        return min((s.at for s in self.canary), default=None)

    @property
    def abort_at(self) -> float | None:
        """When the abort was recorded (its rollout event)."""
        e = self.event("abort")
        return e["at"] if e else None

    @property
    def abort_intervals(self) -> float | None:
        """From the first bad request to the recorded abort, in analysis intervals."""
        first, abort = self.first_canary_at, self.abort_at
        return None if first is None or abort is None else (abort - first) / self.interval

    def last_canary_at(self, replica: int) -> float | None:
        """When the last request that replica routed to the canary was sent."""
        return max((s.at for s in self.canary if s.replica == replica), default=None)

    @property
    def failed(self) -> list[Sent]:
        """Every request that got no 2xx answer (or no answer)."""
        return [s for s in self.sent if s.failed]

    @property
    def failed_beyond_canary(self) -> list[Sent]:
        """Failed requests the canary did not fail itself, or failed after it should have stopped serving.

        The canary stops on each replica within one poll of the abort; a request sent after the abort plus
        one poll and a margin (one more poll for the poll's own read, plus :data:`SCHEDULER_SLACK_S` for the
        scheduler of a shared CI machine) that the canary still failed counts here too.
        """
        end = (self.abort_at or float("inf")) + 2 * self.poll + SCHEDULER_SLACK_S
        return [s for s in self.failed if s.version != self.candidate or s.variant != "canary" or s.at > end]

    @property
    def bad_answers(self) -> list[Sent]:
        """2xx answers with a null prediction in them (the model returned NaN)."""
        return [s for s in self.sent if not s.failed and s.nulls]

    def figures(self) -> dict[str, Any]:
        """What the benchmark prints for this run."""
        abort = self.abort_at
        return {
            "mode": self.mode,
            "outcome": "abort" if abort is not None else ("promote" if self.event("promote") else "none"),
            "abort_intervals": None if self.abort_intervals is None else round(self.abort_intervals, 2),
            "canary_requests": len(self.canary),
            "canary_requests_before_abort": None if abort is None else sum(s.at < abort for s in self.canary),
            "canary_failed": sum(s.failed for s in self.canary) + sum(bool(s.nulls) for s in self.canary),
            "failed_beyond_canary": len(self.failed_beyond_canary),
            "requests": len(self.sent),
            "interval_s": self.interval,
            "rate": round(self.rate, 1),
            "stable_ms": round(self.stable_ms, 2),
        }


class Stage:
    """One project, a real webhook receiver and two replicas under no load, for rollouts one after another.

    :meth:`rollout` puts one candidate (``healthy`` or a fault) through a whole rollout under load and
    returns a :class:`RolloutRun`. Before each, the log written so far is moved aside (the analysis
    rereads its window on every tick: a log growing over many rollouts would slow it) and the replicas
    serve the stable version under load for a few seconds. That measures the stable's latency (the slow
    canary waits as long again) and the rate the machine sustains; without ``interval``, the controller's
    interval is set so that one holds the canary requests the analysis needs (:data:`NEED`) plus
    :data:`SLACK_S`, as a user sets it from their traffic. Then the candidate is registered and gated,
    ``mlgate rollout start`` puts it at 50%, and once ``mlgate rollout run --follow`` has made its first
    tick the load goes on until the controller ends and a little past it.
    """

    def __init__(self, tmp: Path, breast_cancer: tuple[Any, Any], *, poll: float = 0.2, rate: float = 80.0) -> None:
        self.tmp = tmp
        self.breast_cancer = breast_cancer
        self.poll = poll
        self.rate = rate
        self.runs = 0
        self._stack = ExitStack()

    def __enter__(self) -> Stage:
        from tests.unit.monitor.webhook_receiver import SECRET, webhook_receiver

        try:
            self.hook = self._stack.enter_context(webhook_receiver())
            self.project = make_project(self.tmp / "project", self.breast_cancer, self.hook.url, SECRET)
            self.replicas = self._stack.enter_context(
                serve(self.project.root, self.project.env, "bc", replicas=2, poll=self.poll)
            )
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _end_active(self) -> None:
        """Abort a rollout an earlier run left active (a failed test), so that the next one can start."""
        from mlgate.delivery import rollout
        from mlgate.errors import NotFoundError

        with self.project.registry() as reg, suppress(NotFoundError):
            rollout.abort("bc@production", reason="left by an earlier run", registry=reg)

    def rollout(self, mode: str, *, interval: float | None = None, seed: int = 0) -> RolloutRun:
        """Roll out one candidate (``mode``: healthy or a fault) on the two replicas under load, to its end."""
        assert mode in MODES, mode
        project, urls = self.project, [r.url for r in self.replicas]
        self._end_active()
        self.runs += 1
        logs = project.root / "logs" / "model=bc"
        if logs.exists():  # no traffic now: the servers create the folders again on their next write
            logs.rename(project.root / f"logs-before-run-{self.runs}")
        with Load(urls, project.rows, rate=self.rate, seed=seed) as warm:
            time.sleep(3.0)  # the log flushes every second: a few flushes of the stable's requests
        failed = [s.failure for s in warm.sent if s.failed]
        assert not failed, f"the stable version failed requests before the rollout: {failed[:3]}"
        sustained = len(warm.sent) / 3.0
        time.sleep(1.2)  # the last flush
        with project.registry() as reg:
            stable_ms = stable_latency_ms(project, reg.aliases("bc")["production"])
        if interval is None:  # the first step sends half the requests to the canary
            interval = float(math.ceil(NEED[mode] / (sustained / 2) + SLACK_S))
        # a canary twice as slow: it waits as long again as a whole request to the stable takes
        candidate = register_candidate(project, mode, delay_s=stable_ms / 1000.0, variant=self.runs)
        started = cli(project.root, project.env, "rollout", "start", candidate)
        assert started.returncode == 0, started.stdout + started.stderr
        controller = Controller(project.root, project.env, "bc@production", interval)
        try:
            until("the controller's first tick", lambda: controller.lines or controller.proc.poll() is not None)
            with Load(urls, project.rows, rate=self.rate, seed=seed + 1) as load:
                code = controller.wait(timeout=180)
                if code == 0:  # promoted: each replica's primary becomes the candidate within a poll or so
                    for i in range(len(urls)):
                        until(f"replica {i} serves {candidate} as its primary", _primary(load, i, candidate))
                time.sleep(
                    max(1.0, 5 * self.poll) + 2 * SCHEDULER_SLACK_S
                )  # requests after the end: none reach the canary
        finally:
            controller.close()
        time.sleep(1.2)  # the last flush, before the next run moves the log aside
        with project.registry() as reg:
            ro = reg.rollout("bc", "production")
            events = [{**e.to_dict(), "at": _utc(e.created_at)} for e in reg.rollout_events(ro)]
            holder = reg.aliases("bc")["production"]
            rule = f"rollout #{ro.id} aborted"
            accepted = [a for a in self.hook.accepted if a["body"].get("rule") == rule]
            evidence = None
            if accepted:
                evidence = json.loads(reg.read_blob(accepted[0]["body"]["evidence"], what="alert evidence"))
        return RolloutRun(
            mode=mode,
            candidate=candidate,
            interval=interval,
            poll=self.poll,
            code=code,
            output=controller.output,
            sent=list(load.sent),
            rollout=ro.to_dict(),
            events=events,
            holder=holder,
            alerts=accepted,
            evidence=evidence,
            stable_ms=stable_ms,
            rate=sustained,
        )


def summary(runs: list[RolloutRun]) -> dict[str, Any]:
    """Per mode: runs, aborts, abort latency in intervals (median, max), canary requests, failures beyond it."""
    figures = [r.figures() for r in runs]
    aborted = [f for f in figures if f["outcome"] == "abort"]
    latencies = [float(f["abort_intervals"]) for f in aborted]
    before = [int(f["canary_requests_before_abort"]) for f in aborted]
    return {
        "mode": runs[0].mode if runs else "",
        "runs": len(runs),
        "promoted": sum(f["outcome"] == "promote" for f in figures),
        "aborted": len(aborted),
        "abort_intervals_median": statistics.median(latencies) if latencies else None,
        "abort_intervals_max": max(latencies) if latencies else None,
        "canary_requests_before_abort_median": statistics.median(before) if before else None,
        "canary_requests_before_abort_max": max(before) if before else None,
        "canary_failed_max": max((int(f["canary_failed"]) for f in figures), default=0),
        "failed_beyond_canary": sum(int(f["failed_beyond_canary"]) for f in figures),
        "interval_s_median": statistics.median(float(f["interval_s"]) for f in figures) if figures else None,
        "rate_median": statistics.median(float(f["rate"]) for f in figures) if figures else None,
        "stable_ms_median": statistics.median(float(f["stable_ms"]) for f in figures) if figures else None,
    }
