"""``RayGenerator``: the ``Generator`` protocol over ``replicas`` Ray actors, each holding the generator
``make_generator`` builds from one ``GenerationConfig``. A batch is cut into contiguous runs of prompts,
one run per replica, and the answers are put back in prompt order; ``generate_requests`` does the
same for requests with their own n and seed (``generate.batching``).

Seeded requests stay reproducible: every backend seeds per prompt (see ``Generator``), so how the
prompts are split across replicas does not change what any of them gets (the same tokens; the
log-probabilities to float rounding, as for any batching backend).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from prover.distributed.runtime import stdout_to_stderr
from prover.generate.base import Completion, GenerationConfig, GenerationError, check_sampling
from prover.generate.batching import Request, SamplingParams, as_requests, generate_requests


class GeneratorActor:
    """Runs inside a Ray actor."""

    def __init__(self, config: GenerationConfig) -> None:
        from prover.generate import make_generator

        stdout_to_stderr()
        self.generator = make_generator(config)

    def identity(self) -> str:
        return self.generator.identity()

    def generate(self, prompts: Sequence[str], n: int, temperature: float, top_p: float, max_tokens: int,
                 stop: Sequence[str], seed: int | None) -> list[list[Completion]]:
        return self.generator.generate(prompts, n, temperature, top_p, max_tokens, stop, seed)

    def generate_requests(
        self, requests: Sequence[Request], params: SamplingParams
    ) -> list[list[Completion]]:
        return generate_requests(self.generator, requests, params)

    def close(self) -> None:
        self.generator.close()


def _runs(count: int, parts: int) -> list[tuple[int, int]]:
    """``count`` items cut into at most ``parts`` contiguous runs as even as can be."""
    parts = max(1, min(parts, count))
    size, extra = divmod(count, parts)
    runs, start = [], 0
    for i in range(parts):
        end = start + size + (i < extra)
        runs.append((start, end))
        start = end
    return runs


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


class RayGenerator:
    """``replicas`` generation actors on the connected Ray cluster. ``num_gpus`` per replica: None
    means one GPU when ``config.device`` asks for CUDA, or is ``auto`` on a cluster that has GPUs;
    torch threads default to the replica's CPUs. The config should carry no ``cache_path``: a cache
    belongs in the caller's process (``wrap_generator`` does that)."""

    def __init__(
        self,
        config: GenerationConfig,
        replicas: int = 1,
        num_cpus: float = 1.0,
        num_gpus: float | None = None,
        ready_timeout_s: float = 600.0,
    ) -> None:
        from prover.distributed import import_ray

        if replicas < 1:
            raise ValueError(f"a Ray generator needs at least one replica, not {replicas}")
        config.validate()
        ray = import_ray()
        if not ray.is_initialized():
            raise RuntimeError("not connected to a Ray cluster: call prover.distributed.connect first")
        self._ray = ray
        if num_gpus is None:
            wants_gpu = config.device.startswith("cuda") or (
                config.device == "auto" and ray.cluster_resources().get("GPU", 0) >= replicas
            )
            num_gpus = 1.0 if wants_gpu else 0.0
        if config.threads is None:
            config = replace(config, threads=max(1, int(num_cpus)))
        self._actor_class = ray.remote(num_cpus=num_cpus, num_gpus=num_gpus)(GeneratorActor)
        self._config = config
        self._lock = threading.Lock()
        self._turn = 0  # which replica takes the first run of the next batch
        self._closed = False
        self._replicas = [self._actor_class.remote(config) for _ in range(replicas)]
        try:
            identities = ray.get([r.identity.remote() for r in self._replicas], timeout=ready_timeout_s)
        except ray.exceptions.GetTimeoutError:
            self._kill_all()
            raise RuntimeError(
                f"{replicas} generation replica(s) did not start within {ready_timeout_s:.0f} s: "
                f"the cluster may lack {num_cpus} CPU(s) and {num_gpus} GPU(s) for each"
            ) from None
        except Exception as exc:
            self._kill_all()
            raise GenerationError(f"a generation replica failed to start: {_first_line(exc)}") from None
        self._identity: str = identities[0]

    def identity(self) -> str:
        return self._identity

    def generate(
        self,
        prompts: Sequence[str],
        n: int,
        temperature: float,
        top_p: float,
        max_tokens: int,
        stop: Sequence[str],
        seed: int | None,
    ) -> list[list[Completion]]:
        return self.generate_requests(*as_requests(prompts, n, temperature, top_p, max_tokens, stop, seed))

    def generate_requests(
        self, requests: Sequence[Request], params: SamplingParams
    ) -> list[list[Completion]]:
        """Contiguous runs of ``requests``, one per replica, each with its own n and seed."""
        for req in requests:
            check_sampling(req.n, params.temperature, params.top_p, params.max_tokens)
        requests = list(requests)
        if not requests:
            return []
        runs = _runs(len(requests), len(self._replicas))
        with self._lock:
            if self._closed:
                raise GenerationError("the generator is closed")
            # Concurrent callers start on different replicas, so small batches spread out too.
            first = self._turn
            self._turn = (self._turn + 1) % len(self._replicas)
            chosen = [(first + i) % len(self._replicas) for i in range(len(runs))]
            handles = [self._replicas[r] for r in chosen]
            refs = [h.generate_requests.remote(requests[a:b], params)
                    for h, (a, b) in zip(handles, runs, strict=True)]
        ray = self._ray
        out: list[list[Completion]] = []
        for r, handle, ref in zip(chosen, handles, refs, strict=True):
            try:
                out.extend(ray.get(ref))
            except ray.exceptions.RayActorError as exc:
                self._replace(r, handle)
                raise GenerationError(f"a generation replica died: {_first_line(exc)}") from None
            except ray.exceptions.RayTaskError as exc:
                cause = exc.cause
                if isinstance(cause, ValueError):
                    raise ValueError(str(cause)) from None
                why = _first_line(cause or exc)
                raise GenerationError(f"generation failed on a replica: {why}") from None
        return out

    def _replace(self, index: int, dead: Any) -> None:
        """A fresh actor in a dead replica's place, so the next batch can use it again."""
        with self._lock:
            if self._closed or self._replicas[index] is not dead:  # another caller replaced it already
                return
            with contextlib.suppress(Exception):
                self._ray.kill(self._replicas[index], no_restart=True)
            self._replicas[index] = self._actor_class.remote(self._config)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        with contextlib.suppress(Exception):
            self._ray.get([r.close.remote() for r in self._replicas], timeout=60)
        self._kill_all()

    def _kill_all(self) -> None:
        for replica in self._replicas:
            with contextlib.suppress(Exception):
                self._ray.kill(replica, no_restart=True)
