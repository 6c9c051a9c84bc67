"""The pool's scheduling, restart and recycling logic, on a small in-process backend.

The fake backend here stands in only for the *pool's* collaborator; the real Coq sessions are
exercised through the pool in test_rocq_session.py and test_adversarial_rocq.py."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from prover.itp.base import Availability, CheckRequest, Limits, Message, Reason, StaticVerdict, Verdict
from prover.verify.cache import VerdictCache
from prover.verify.pool import VerifierPool


@dataclass
class FakeSession:
    header_key: str
    log: list[str]
    dead: bool = False

    def accepts(self, header_key: str) -> bool:
        return header_key == self.header_key

    def check(self, request: CheckRequest, timeout_s: float) -> Verdict:
        self.log.append(f"{self.header_key}:{request.proof}")
        if request.proof == "crash" or (request.proof == "ok-crash-once" and self.log.count(self.log[-1]) == 1):
            self.dead = True
            return Verdict(False, "crash", [Message("error", "died")])
        if request.proof == "raise":
            raise RuntimeError("backend bug")
        if request.proof.startswith("sleep"):
            time.sleep(float(request.proof.split()[1]))
        return Verdict(request.proof.startswith("ok"), None if request.proof.startswith("ok") else "error")

    def alive(self) -> bool:
        return not self.dead

    def rss_bytes(self) -> int:
        return 0

    def close(self) -> None:
        self.dead = True


@dataclass
class FakeBackend:
    name: str = "fake"
    opened: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def availability(self) -> Availability:
        return Availability(True, "fake")

    def identity(self) -> str:
        return "fake 1.0"

    def limits_for(self, limits: Limits) -> Limits:
        return limits

    def static_check(self, request: CheckRequest) -> StaticVerdict:
        passed = not request.proof.startswith("forbidden")
        return StaticVerdict(passed, None if passed else Reason.FORBIDDEN)

    def header_key(self, request: CheckRequest) -> str:
        if request.statement == "bad":
            raise ValueError("statement states nothing")
        return request.statement or ""

    def open_session(self, header_key: str, workdir: Path, limits: Limits) -> FakeSession:
        with self.lock:
            self.opened.append(header_key)
        if header_key == "broken":
            raise RuntimeError("header does not load")
        return FakeSession(header_key, self.log)


def test_map_keeps_input_order() -> None:
    backend = FakeBackend()
    requests = [CheckRequest(f"sleep 0.0{9 - i}" if i % 2 else f"ok{i}", "h") for i in range(10)]
    with VerifierPool(backend, workers=2) as pool:
        verdicts = list(pool.map(requests))
    assert [v.verified for v in verdicts] == [i % 2 == 0 for i in range(10)]


def test_worker_prefers_jobs_with_its_header() -> None:
    backend = FakeBackend()
    requests = [CheckRequest(f"ok{i}", "AB"[i % 2]) for i in range(20)]
    with VerifierPool(backend, workers=1) as pool:
        futures = [pool.submit(r) for r in requests]
        assert all(f.result().verified for f in futures)
    # one worker, two headers interleaved: affinity means far fewer than 20 session starts
    assert len(backend.opened) <= 4


def test_crash_restarts_session_and_keeps_going() -> None:
    backend = FakeBackend()
    with VerifierPool(backend, workers=1) as pool:
        verdicts = list(
            pool.map([CheckRequest("ok1", "h"), CheckRequest("crash", "h"), CheckRequest("ok2", "h")])
        )
        assert [v.reason for v in verdicts] == [None, "crash", None]
        assert pool.stats.restarts == 2 and pool.stats.retries == 1  # the crash is tried twice
    assert backend.opened == ["h", "h", "h"]


def test_a_lost_session_is_retried_once_before_it_counts() -> None:
    """A check whose session died gets one more try on a fresh session: a crash that was the
    session's, not the proof's, must not count against a sample."""
    backend = FakeBackend()
    with VerifierPool(backend, workers=1) as pool:
        assert pool.check(CheckRequest("ok-crash-once", "h")).verified
        assert pool.stats.retries == 1 and pool.stats.crashes == 0
        assert backend.log.count("h:ok-crash-once") == 2

def test_backend_exception_becomes_crash_verdict() -> None:
    with VerifierPool(FakeBackend(), workers=1) as pool:
        assert pool.check(CheckRequest("raise", "h")).reason == "crash"
        assert pool.check(CheckRequest("ok", "h")).verified


def test_recycles_after_max_checks() -> None:
    backend = FakeBackend()
    with VerifierPool(backend, workers=1, limits=Limits(max_checks_per_session=3)) as pool:
        list(pool.map([CheckRequest(f"ok{i}", "h") for i in range(7)]))
    assert backend.opened == ["h", "h", "h"]


def test_header_that_fails_to_load_fails_the_job_only() -> None:
    with VerifierPool(FakeBackend(), workers=1) as pool:
        bad = pool.check(CheckRequest("ok", "broken"))
        assert (bad.verified, bad.reason) == (False, "error")
        assert "does not load" in bad.messages[0].text
        assert pool.check(CheckRequest("ok", "h")).verified


def test_bad_statement_is_a_verdict_not_an_exception() -> None:
    with VerifierPool(FakeBackend(), workers=1) as pool:
        assert pool.check(CheckRequest("ok", "bad")).reason == "bad_statement"


def test_cache_serves_repeats_without_checking() -> None:
    backend = FakeBackend()
    with VerifierPool(backend, workers=1, cache=VerdictCache()) as pool:
        first = pool.check(CheckRequest("ok", "h"))
        second = pool.check(CheckRequest("ok", "h"))
        assert first.verified and second.verified and second.cached and not first.cached
        assert pool.stats.cache_hits == 1
    assert len(backend.log) == 1


def test_bounded_queue_blocks_submitters_until_workers_drain() -> None:
    with VerifierPool(FakeBackend(), workers=1, max_queue=2) as pool:
        start = time.monotonic()
        futures = [pool.submit(CheckRequest("sleep 0.05", "h")) for _ in range(5)]
        submitted = time.monotonic() - start
        assert all(not f.result().verified for f in futures)
    assert submitted >= 0.09  # the last submits had to wait for two checks to finish


def test_stats_report_latency_percentiles() -> None:
    with VerifierPool(FakeBackend(), workers=2) as pool:
        list(pool.map([CheckRequest("sleep 0.01", "h") for _ in range(8)]))
        summary = pool.stats.summary()
    assert summary["checks"] == 8
    assert summary["p50_s"] >= 0.009
