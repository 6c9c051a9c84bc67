"""Scale-out on a Ray cluster (``--ray ADDRESS``): verifier workers and generation replicas behind the
same interfaces as the local ``VerifierPool`` and ``Generator``, so the callers choose with one address.

``connect`` joins a running cluster; ``make_pool`` and ``wrap_generator`` return the local objects when
no address is given. Ray is optional and imported only once an address is given. The actors run this
process's ``prover`` (shipped as the job's ``runtime_env``, ``runtime.py``); every node needs its
dependencies (and, for verifier actors, the proof assistant) installed. Actor stderr reaches this
process's stderr.
"""

from __future__ import annotations

import logging
import socket
import threading
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from prover.distributed.generator import RayGenerator
from prover.distributed.runtime import package_runtime_env
from prover.distributed.verifier import RayVerifierPool
from prover.generate.base import GenerationConfig, Generator
from prover.verify.pool import CheckPool, VerifierPool

if TYPE_CHECKING:
    from prover.config import Settings
    from prover.verify.cache import VerdictCache

__all__ = ["CheckPool", "RayGenerator", "RayVerifierPool", "connect", "import_ray", "make_pool",
           "wrap_generator"]

_lock = threading.Lock()
_connected: str | None = None  # the address this process joined, once it has


def import_ray() -> Any:
    """The ``ray`` module; ``RuntimeError`` saying how to install it when it is missing."""
    try:
        import ray
    except ImportError as exc:
        raise RuntimeError(
            "Ray is not installed: pip install 'prover-itp[ray]' (in a checkout: pip install -e '.[ray]')"
        ) from exc
    return ray


def _host_port(address: str) -> tuple[str, int]:
    bare = address.removeprefix("ray://")
    host, _, port = bare.rpartition(":")
    host = host.strip("[]")  # an IPv6 literal
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"a Ray address is HOST:PORT (the head node's GCS port) or 'auto', not {address!r}")
    return host, int(port)


def connect(address: str, timeout_s: float = 10.0, runtime_env: dict[str, Any] | None = None) -> None:
    """Join the Ray cluster at ``address`` (``HOST:PORT``, ``ray://HOST:PORT`` or ``auto``); a no-op
    when this process already joined it. Raises ``ValueError`` for a malformed address and
    ``RuntimeError`` (one line) when Ray is missing or nothing answers within ``timeout_s``.

    ``runtime_env`` is the job's, every actor's: by default ``package_runtime_env()`` (this process's
    package; Ray takes a local folder only at this level, not per actor); ``{}`` for the nodes' own."""
    global _connected
    address = address.strip()
    if address != "auto":
        host, port = _host_port(address)
    ray = import_ray()
    with _lock:
        if ray.is_initialized() and address in (_connected, "auto"):
            return
        if address != "auto":
            # ray.init retries an unreachable GCS for many minutes; a plain TCP connection says at once
            # whether anything listens there.
            try:
                socket.create_connection((host, port), timeout=timeout_s).close()
            except OSError as exc:
                why = exc.strerror or type(exc).__name__
                raise RuntimeError(f"no Ray cluster answers at {address} ({why}); start one with "
                                   "`ray start --head` or check the address") from None
        if ray.is_initialized():
            raise RuntimeError(f"this process is already connected to the Ray cluster at "
                               f"{_connected or 'a local instance'}, not {address}")
        try:
            # log_to_driver: what an actor writes to stderr (a session that cannot start on some node,
            # a traceback) reaches this process's stderr; actors send their stdout there too.
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=True,
                     runtime_env=package_runtime_env() if runtime_env is None else runtime_env)
        except Exception as exc:  # ConnectionError, RuntimeError, ValueError, … from Ray's many layers
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise RuntimeError(f"cannot join the Ray cluster at {address}: {first}") from None
        _connected = address


def make_pool(
    backend_name: str,
    settings: Settings,
    workers: int,
    ray_address: str | None,
    cache: VerdictCache | None = None,
) -> VerifierPool | RayVerifierPool:
    """A local ``VerifierPool`` with ``workers`` sessions, or ``workers`` verifier actors on the Ray
    cluster at ``ray_address``; both under ``settings.pool.limits()``."""
    if ray_address is None:
        from prover.itp import get_backend

        return VerifierPool(get_backend(backend_name, settings), workers, settings.pool.limits(), cache=cache)
    connect(ray_address)
    return RayVerifierPool(backend_name, settings, workers, cache=cache)


def wrap_generator(
    generator_config: GenerationConfig, ray_address: str | None, replicas: int = 1, num_cpus: float = 1.0
) -> Generator:
    """The generator ``generator_config`` names, local when ``ray_address`` is None, else ``replicas``
    Ray actors each holding one (``num_cpus`` each; GPUs as ``RayGenerator`` decides). The completion
    cache (``cache_path``) stays in this process, so replicas never share one SQLite file and a cached
    prompt never reaches the cluster."""
    if ray_address is None:
        from prover.generate import make_generator

        return make_generator(generator_config)
    generator_config.validate()
    if generator_config.model is None:
        raise ValueError("no model given: pass --model (a local directory or a Hugging Face id)")
    connect(ray_address)
    generator: Generator = RayGenerator(replace(generator_config, cache_path=None), replicas, num_cpus)
    if generator_config.cache_path is not None:
        import os

        from prover.generate.cache import CachedGenerator, CompletionCache

        cache = CompletionCache(os.path.expanduser(generator_config.cache_path))
        generator = CachedGenerator(generator, cache)
    return generator
