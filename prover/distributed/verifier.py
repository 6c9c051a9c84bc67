"""``RayVerifierPool``: the verifier pool's interface over Ray actors, each holding its own backend and a
one-session ``VerifierPool``, so proof-assistant processes live in the actors and are reused across
checks exactly as they are locally.

Soundness does not move: every verdict is the actor's ``VerifierPool`` verdict, and anything that goes
wrong on the way (a dead actor, a lost node, an unreadable reply) becomes an unverified ``CRASH``.

Each actor reserves memory as well as CPUs (``actor_memory_bytes``): Ray packs a node by declared
resources only, and a 64-core node has room for 64 one-CPU Lean sessions but not for the 64 x 10 GiB
they grow to. The reservation is logical (Ray schedules by it; the sessions' own limits still bound
what they use).
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import CancelledError, Future, InvalidStateError
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

from prover.distributed.runtime import stdout_to_stderr
from prover.itp.base import GIB, TRANSIENT, CheckRequest, Limits, Message, Reason, Verdict
from prover.verify.cache import VerdictCache, request_key
from prover.verify.pool import PoolStats, VerifierPool, ordered_map

if TYPE_CHECKING:
    from prover.config import Settings


class _PutLog(VerdictCache):
    """Serves nothing; remembers which verdicts the actor's pool chose to cache (a verdict about the
    text, not about the session), since only those may enter the caller's cache."""

    def __init__(self) -> None:
        super().__init__(capacity=0)
        self.keys: set[str] = set()

    def get(self, key: str) -> Verdict | None:
        return None

    def put(self, key: str, verdict: Verdict) -> None:
        if verdict.reason not in TRANSIENT:
            self.keys.add(key)


class VerifierActor:
    """Runs inside a Ray actor (one check at a time, Ray's default for an actor)."""

    def __init__(self, backend_name: str, settings: Settings, limits: Limits) -> None:
        from prover.itp import get_backend

        stdout_to_stderr()
        self.backend = get_backend(backend_name, settings)
        self.identity = self.backend.identity()
        self.log = _PutLog()
        self.pool = VerifierPool(self.backend, workers=1, limits=limits, cache=self.log)
        status = self.backend.availability()
        if not status.usable:  # its checks will say so too, but not which node lacks what
            print(f"prover verifier actor on {socket.gethostname()}: {status.detail}", file=sys.stderr,
                  flush=True)

    def describe(self) -> tuple[str, Limits]:
        return self.identity, self.pool.limits

    def resources(self) -> dict[str, float]:
        """What Ray reserved for this actor (CPU, memory in bytes)."""
        import ray

        assigned: dict[str, float] = ray.get_runtime_context().get_assigned_resources()  # type: ignore[no-untyped-call]
        return assigned

    def check(self, request: CheckRequest, timeout_s: float | None) -> tuple[Verdict, bool]:
        """The verdict and whether it may be cached."""
        verdict = self.pool.check(request, timeout_s)
        key = request_key(self.identity, request)
        cacheable = key in self.log.keys
        self.log.keys.discard(key)
        return verdict, cacheable

    def close(self) -> None:
        self.pool.close()


ACTOR_OVERHEAD_BYTES = GIB // 2  # the actor's own Python process, beside its proof-assistant session


def actor_memory_bytes(backend_name: str, settings: Settings, limits: Limits) -> int | None:
    """What one verifier actor may come to hold resident: its session's recycling threshold (the
    pool restarts a session that grew past it), else its address-space limit, plus the actor
    itself. Lean with Mathlib: 10.5 GiB; Rocq: 3.5 GiB."""
    from prover.itp import get_backend

    real = get_backend(backend_name, settings).limits_for(limits)
    ceiling = real.max_rss_bytes or real.memory_bytes
    return None if ceiling is None else ceiling + ACTOR_OVERHEAD_BYTES


def _crash(what: str) -> Verdict:
    return Verdict(False, Reason.CRASH, [Message("error", what)], detail=what)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


@dataclass
class _Slot:
    actor: Any
    inflight: int = 0
    restarts: int = 0
    died: bool = False  # its actor died: replaced at the next submit, or dropped past max_restarts
    alive: bool = True
    last: int = 0  # when it last got a job (a counter): ties go to the one idle longest


class RayVerifierPool:
    """``workers`` verifier actors on the connected Ray cluster, used like a ``VerifierPool``.

    Each job goes to the actor with the fewest in flight. An actor that dies turns its jobs into
    ``CRASH`` verdicts and is replaced (at most ``max_restarts`` times per slot, then dropped; the
    others go on). ``cache`` lives in this process, keyed like the local pool's.

    Each actor reserves ``num_cpus`` and ``memory_bytes`` (default: ``actor_memory_bytes``; 0: no
    memory reservation)."""

    def __init__(
        self,
        backend_name: str,
        settings: Settings,
        workers: int,
        limits: Limits | None = None,
        cache: VerdictCache | None = None,
        max_queue: int = 1024,
        num_cpus: float = 1.0,
        max_restarts: int = 3,
        ready_timeout_s: float = 120.0,
        memory_bytes: int | None = None,
    ) -> None:
        from prover.distributed import import_ray
        from prover.itp import BACKEND_NAMES

        if backend_name not in BACKEND_NAMES:  # said here, not as a failure deep in an actor
            raise ValueError(f"unknown backend {backend_name!r}; choose one of {', '.join(BACKEND_NAMES)}")
        if workers < 1:
            raise ValueError(f"a Ray verifier pool needs at least one worker, not {workers}")
        ray = import_ray()
        if not ray.is_initialized():
            raise RuntimeError("not connected to a Ray cluster: call prover.distributed.connect first")
        self._ray = ray
        self.backend_name = backend_name
        self.workers = workers
        self.cache = cache
        self.stats = PoolStats()
        self._max_queue = max_queue
        self._max_restarts = max_restarts
        limits = limits or settings.pool.limits()
        if memory_bytes is None:
            memory_bytes = actor_memory_bytes(backend_name, settings, limits)
        self.memory_bytes = memory_bytes
        options: dict[str, Any] = {"num_cpus": num_cpus}
        if memory_bytes:
            options["memory"] = memory_bytes
        self._actor_class = ray.remote(**options)(VerifierActor)
        self._args = (backend_name, settings, limits)
        self._cond = threading.Condition()
        self._closing = False
        self._pending: dict[int, tuple[Future[Verdict], Any]] = {}  # id(future) -> (future, ref)
        self._counter = 0
        self._slots = [_Slot(self._actor_class.remote(*self._args)) for _ in range(workers)]
        try:
            described = ray.get([s.actor.describe.remote() for s in self._slots], timeout=ready_timeout_s)
        except ray.exceptions.GetTimeoutError:
            self._kill_all()
            memory = f" and {memory_bytes / GIB:.1f} GiB of memory" if memory_bytes else ""
            raise RuntimeError(f"{workers} verifier actor(s) did not start within {ready_timeout_s:.0f} s: "
                               f"the cluster may lack {num_cpus} free CPU(s){memory} for each") from None
        except Exception as exc:
            self._kill_all()
            why = _first_line(exc)
            raise RuntimeError(f"a {backend_name} verifier actor failed to start: {why}") from None
        self.identity, self.limits = described[0]

    # -- submitting --------------------------------------------------------------------------------

    def submit(self, request: CheckRequest, timeout_s: float | None = None) -> Future[Verdict]:
        """Send one check to the least loaded actor; blocks while ``max_queue`` jobs are in flight."""
        if self._closing:
            raise RuntimeError("the pool is closed")
        future: Future[Verdict] = Future()
        key = request_key(self.identity, request) if self.cache is not None else ""
        cached = self.cache.get(key) if self.cache is not None else None
        if cached is not None:
            with self._cond:
                self.stats.cache_hits += 1
                self._record(cached)
            future.set_result(cached)
            return future
        with self._cond:
            while len(self._pending) >= self._max_queue and not self._closing:
                self._cond.wait()
            if self._closing:
                raise RuntimeError("the pool is closed")
            slot = self._pick()
            if slot is None:
                verdict = Verdict(False, Reason.UNAVAILABLE, [Message("error", "no verifier actor is left")],
                                  detail="every verifier actor died")
                self._record(verdict)
                future.set_result(verdict)
                return future
            slot.inflight += 1
            actor = slot.actor
            ref = actor.check.remote(request, timeout_s)
            self._pending[id(future)] = (future, ref)
        started = time.monotonic()
        ref.future().add_done_callback(lambda done: self._resolve(slot, actor, key, future, done, started))
        return future

    def check(self, request: CheckRequest, timeout_s: float | None = None) -> Verdict:
        return self.submit(request, timeout_s).result()

    def map(self, requests: Iterable[CheckRequest], timeout_s: float | None = None) -> Iterator[Verdict]:
        """Verdicts in input order, keeping at most ``max_queue`` in flight."""
        return ordered_map(self.submit, requests, timeout_s)

    def _pick(self) -> _Slot | None:
        """The least loaded live slot, its dead actor replaced first (here, in a caller's thread:
        Ray's completion callbacks are no place to start actors)."""
        for slot in self._slots:
            if slot.died and slot.alive:
                with contextlib.suppress(Exception):
                    self._ray.kill(slot.actor, no_restart=True)
                slot.died = False
                if slot.restarts < self._max_restarts:
                    slot.actor = self._actor_class.remote(*self._args)
                    slot.restarts += 1
                    self.stats.restarts += 1
                else:
                    slot.alive = False
        live = [s for s in self._slots if s.alive]
        if not live:
            return None
        slot = min(live, key=lambda s: (s.inflight, s.last))
        self._counter += 1
        slot.last = self._counter
        return slot

    def _resolve(
        self, slot: _Slot, actor: Any, key: str, future: Future[Verdict], done: Future[Any], started: float
    ) -> None:
        """Turn an actor's reply (or its failure) into the job's verdict; runs in a Ray thread."""
        ray = self._ray
        actor_died = False
        cacheable = False
        try:
            verdict, cacheable = done.result()
            if not isinstance(verdict, Verdict):
                what = type(verdict).__name__
                verdict, cacheable = _crash(f"unreadable reply from a verifier actor: {what}"), False
        except (CancelledError, ray.exceptions.TaskCancelledError):
            verdict = None
        except ray.exceptions.RayActorError as exc:  # died, or its node did
            actor_died = True
            verdict = _crash(f"the verifier actor died: {_first_line(exc)}")
        except Exception as exc:
            verdict = _crash(f"the verifier actor failed: {_first_line(exc)}")
        if verdict is not None:
            verdict.time_s = verdict.time_s or time.monotonic() - started
            if cacheable and self.cache is not None:
                self.cache.put(key, verdict)
        with self._cond:
            slot.inflight -= 1
            # a late failure from an actor already replaced must not condemn its successor
            slot.died = slot.died or (actor_died and slot.actor is actor)
            self._pending.pop(id(future), None)
            if verdict is not None:
                self._record(verdict)
            self._cond.notify_all()
        with contextlib.suppress(InvalidStateError):  # the caller may have cancelled it
            if verdict is None:
                future.cancel()
            else:
                future.set_result(verdict)

    def _record(self, verdict: Verdict) -> None:
        self.stats.checks += 1
        self.stats.verified += verdict.verified
        self.stats.timeouts += verdict.reason is Reason.TIMEOUT
        self.stats.crashes += verdict.reason in (Reason.CRASH, Reason.MEMORY)
        self.stats.latencies.append(verdict.time_s)

    # -- shutting down -----------------------------------------------------------------------------

    def close(self, timeout_s: float | None = None) -> None:
        """Cancel queued jobs, let running checks finish (their actors close their sessions), then
        free the actors. Idempotent."""
        with self._cond:
            if self._closing:
                return
            self._closing = True
            self._cond.notify_all()
            refs = [ref for _, ref in self._pending.values()]
        for ref in refs:
            with contextlib.suppress(Exception):
                self._ray.cancel(ref)
        live = [s.actor for s in self._slots if s.alive and not s.died]
        wait = timeout_s if timeout_s is not None else self.limits.timeout_s + 30
        with contextlib.suppress(Exception):
            self._ray.get([actor.close.remote() for actor in live], timeout=wait)
        self._kill_all()

    def _kill_all(self) -> None:
        for slot in self._slots:
            with contextlib.suppress(Exception):
                self._ray.kill(slot.actor, no_restart=True)

    def __enter__(self) -> RayVerifierPool:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with contextlib.suppress(Exception):
            self.close()
