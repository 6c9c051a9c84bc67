"""The verifier pool: long-lived proof-assistant sessions shared by many checks.

N worker threads each own at most one session (a live process with a header loaded). Jobs wait in
a bounded queue; a worker prefers jobs whose header matches the session it already has, because
switching headers means restarting the process. A session is restarted when it hangs (the session
kills its own process group on a timeout), crashes, grows past the memory limit, or reaches its
recycling count — and the job that was running gets a definite verdict, so nothing queued is lost.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Protocol

from prover.itp.base import (
    Backend,
    BackendUnavailable,
    CheckRequest,
    Limits,
    Message,
    Reason,
    Session,
    Verdict,
)
from prover.verify.cache import VerdictCache, request_key
from prover.verify.stats import percentile

# How far down the queue a worker looks for a job matching its session's header (the whole queue:
# scanning even a thousand jobs costs microseconds, a needless header switch costs 50-800 ms).
_AFFINITY_WINDOW = 100_000


@dataclass
class _Job:
    request: CheckRequest
    header_key: str
    timeout_s: float
    future: Future[Verdict]
    cache_key: str
    retried: bool = False  # a crash or memory verdict gets one more try on a fresh session


@dataclass
class PoolStats:
    checks: int = 0
    cache_hits: int = 0
    verified: int = 0
    timeouts: int = 0
    crashes: int = 0
    restarts: int = 0  # sessions started after each worker's first (crash, hang, recycling, header)
    retries: int = 0  # checks run again on a fresh session after a crash or memory verdict
    sessions_started: int = 0
    latencies: list[float] = field(default_factory=list)
    started_at: float = field(default_factory=time.monotonic)

    def summary(self) -> dict[str, float]:
        elapsed = time.monotonic() - self.started_at
        return {
            "checks": self.checks,
            "cache_hits": self.cache_hits,
            "verified": self.verified,
            "timeouts": self.timeouts,
            "crashes": self.crashes,
            "restarts": self.restarts,
            "checks_per_s": round(self.checks / elapsed, 3) if elapsed > 0 else 0.0,
            "p50_s": round(percentile(self.latencies, 0.50), 4),
            "p95_s": round(percentile(self.latencies, 0.95), 4),
        }


class CheckPool(Protocol):
    """What callers use of a verifier pool: ``VerifierPool`` here and ``RayVerifierPool``
    (``prover.distributed``) on a cluster both fit, so a search, an eval or a self-play round runs on
    either."""

    limits: Limits
    stats: PoolStats

    def submit(self, request: CheckRequest, timeout_s: float | None = None) -> Future[Verdict]: ...

    def check(self, request: CheckRequest, timeout_s: float | None = None) -> Verdict: ...

    def map(self, requests: Iterable[CheckRequest], timeout_s: float | None = None) -> Iterator[Verdict]: ...

    def close(self) -> None: ...


def ordered_map(
    submit: Callable[[CheckRequest, float | None], Future[Verdict]], requests: Iterable[CheckRequest],
    timeout_s: float | None,
) -> Iterator[Verdict]:
    """Submit every request and yield the verdicts in input order, as soon as each is in front (a
    pool's ``submit`` blocks while its queue is full, which bounds what is in flight)."""
    pending: deque[Future[Verdict]] = deque()
    for request in requests:
        pending.append(submit(request, timeout_s))
        while pending and pending[0].done():
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


class VerifierPool:
    """Check many requests concurrently on ``workers`` sessions of one backend."""

    def __init__(
        self,
        backend: Backend,
        workers: int = 2,
        limits: Limits | None = None,
        max_queue: int = 1024,
        cache: VerdictCache | None = None,
        workdir: Path | None = None,
    ) -> None:
        self.backend = backend
        self.limits = backend.limits_for(limits or Limits())
        self.cache = cache
        self._identity = backend.identity()  # part of every cache key
        self.stats = PoolStats()
        self._max_queue = max_queue
        self._jobs: deque[_Job] = deque()
        self._cond = threading.Condition()
        self._closing = False
        self._own_workdir = workdir is None
        self.workdir = Path(tempfile.mkdtemp(prefix="prover-pool-")) if workdir is None else workdir
        self._threads = [
            threading.Thread(target=self._work, args=(i,), name=f"verifier-{i}", daemon=True)
            for i in range(max(1, workers))
        ]
        for thread in self._threads:
            thread.start()

    # -- submitting --------------------------------------------------------------------------------

    def submit(self, request: CheckRequest, timeout_s: float | None = None) -> Future[Verdict]:
        """Queue one check; blocks while the queue is full. Bad input resolves to a verdict."""
        future: Future[Verdict] = Future()
        key = request_key(self._identity, request)
        cached = self.cache.get(key) if self.cache is not None else None
        if cached is not None:
            with self._cond:
                self.stats.cache_hits += 1
                self._record(cached)
            future.set_result(cached)
            return future
        try:
            header = self.backend.header_key(request)
        except ValueError as exc:
            future.set_result(
                Verdict(False, Reason.BAD_STATEMENT, [Message("error", str(exc))], detail=str(exc))
            )
            return future
        job = _Job(request, header, timeout_s or self.limits.timeout_s, future, key)
        with self._cond:
            while len(self._jobs) >= self._max_queue and not self._closing:
                self._cond.wait()
            if self._closing:
                raise RuntimeError("the pool is closed")
            self._jobs.append(job)
            self._cond.notify_all()
        return future

    def check(self, request: CheckRequest, timeout_s: float | None = None) -> Verdict:
        return self.submit(request, timeout_s).result()

    def map(self, requests: Iterable[CheckRequest], timeout_s: float | None = None) -> Iterator[Verdict]:
        """Verdicts in input order, keeping at most the queue's size in flight."""
        return ordered_map(self.submit, requests, timeout_s)

    # -- workers -----------------------------------------------------------------------------------

    def _next_job(self, session: Session | None) -> _Job | None:
        """The first queued job with the session's exact header, else the first it accepts, else
        the oldest: a worker switches processes only when nothing queued fits the one it has."""
        with self._cond:
            while not self._jobs and not self._closing:
                self._cond.wait()
            if not self._jobs:
                return None
            chosen = 0
            if session is not None:
                accepted = None
                for i, job in enumerate(self._jobs):
                    if i >= _AFFINITY_WINDOW:
                        break
                    if job.header_key == session.header_key:
                        accepted = i
                        break
                    if accepted is None and session.accepts(job.header_key):
                        accepted = i
                chosen = accepted if accepted is not None else 0
            job = self._jobs[chosen]
            del self._jobs[chosen]
            self._cond.notify_all()
            return job

    def _work(self, index: int) -> None:
        session: Session | None = None
        uses = 0
        opened = 0
        scratch = self.workdir / f"worker-{index}"
        while True:
            job = self._next_job(session)
            if job is None:
                break
            if session is not None and (not session.accepts(job.header_key) or not session.alive()):
                session.close()
                session = None
            if session is None:
                session, verdict = self._open(job, scratch, restart=opened > 0)
                opened += 1
                uses = 0
                if session is None:  # a verdict about the session, not the text: never cached
                    self._finish(job, verdict, cache=False)
                    continue
            started = time.monotonic()
            try:
                verdict = session.check(job.request, job.timeout_s)
            except Exception as exc:  # a backend bug must not take the worker down
                verdict = Verdict(False, Reason.CRASH, [Message("error", f"{type(exc).__name__}: {exc}")])
                session.close()
            verdict.time_s = verdict.time_s or time.monotonic() - started
            uses += 1
            if (
                not session.alive()
                or uses >= self.limits.max_checks_per_session
                or session.rss_bytes() > (self.limits.max_rss_bytes or float("inf"))
            ):
                session.close()
                session = None
            self._finish(job, verdict)
        if session is not None:
            session.close()

    def _open(self, job: _Job, scratch: Path, restart: bool) -> tuple[Session | None, Verdict]:
        started = time.monotonic()
        try:
            session = self.backend.open_session(job.header_key, scratch, self.limits)
        except BackendUnavailable as exc:
            return None, Verdict(False, Reason.UNAVAILABLE, [Message("error", str(exc))])
        except Exception as exc:  # the header does not load: every job with this header fails alike
            elapsed = time.monotonic() - started
            return None, Verdict(False, Reason.ERROR, [Message("error", str(exc))], elapsed, detail=str(exc))
        with self._cond:
            self.stats.sessions_started += 1
            self.stats.restarts += restart
        return session, Verdict(True, None)

    def _record(self, verdict: Verdict) -> None:
        self.stats.checks += 1
        self.stats.verified += verdict.verified
        self.stats.timeouts += verdict.reason is Reason.TIMEOUT
        self.stats.crashes += verdict.reason in (Reason.CRASH, Reason.MEMORY)
        self.stats.latencies.append(verdict.time_s)

    def _finish(self, job: _Job, verdict: Verdict, cache: bool = True) -> None:
        if verdict.reason in (Reason.CRASH, Reason.MEMORY) and not job.retried and not self._closing:
            # A lost session says little about the proof (another process's load, a flaky start):
            # one more try on a fresh session, first in line, before the verdict counts against it.
            job.retried = True
            with self._cond:
                self.stats.retries += 1
                self._jobs.appendleft(job)
                self._cond.notify_all()
            return
        if cache and self.cache is not None:
            self.cache.put(job.cache_key, verdict)
        with self._cond:
            self._record(verdict)
        job.future.set_result(verdict)

    # -- shutting down -----------------------------------------------------------------------------

    def close(self) -> None:
        with self._cond:
            self._closing = True
            for job in self._jobs:
                job.future.cancel()
            self._jobs.clear()
            self._cond.notify_all()
        for thread in self._threads:
            thread.join()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> VerifierPool:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with contextlib.suppress(Exception):
            self.close()
