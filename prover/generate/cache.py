"""A content-hash cache of completions in SQLite, so a rerun does not pay for generation twice.

Only **reproducible** requests are cached: seeded ones (``seed`` set) and greedy ones (temperature
0). Their completions are a function of (backend identity, prompt, parameters), which every backend
guarantees per prompt (``base.Generator``), so replaying them is exactly what the rerun would compute.
An unseeded sampled request is a fresh random draw: serving it from the cache would turn what
should be independent samples (a new attempt round, a new pass@k trial) into repeats of old ones,
biasing the measurements. Such requests always go to the backend.

The key is the SHA-256 of the backend's identity (model, weights version, device, dtype), the prompt,
``n``, ``temperature``, ``top_p``, ``max_tokens``, the stop strings and the seed. A retrained model in
the same directory has a new identity, so its requests miss.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from prover.generate.base import Completion, Generator

_SCHEMA = """
CREATE TABLE IF NOT EXISTS completions (
    key TEXT PRIMARY KEY,
    backend TEXT NOT NULL,
    completions TEXT NOT NULL
)
"""


def cacheable(temperature: float, seed: int | None) -> bool:
    """Whether a request's completions are reproducible, hence safe to replay (module docstring)."""
    return seed is not None or temperature == 0


def cache_key(identity: str, prompt: str, n: int, temperature: float, top_p: float, max_tokens: int,
              stop: Sequence[str], seed: int | None) -> str:
    """Greedy requests ignore ``top_p`` and the seed, so those are normalised away for them."""
    if temperature == 0:
        top_p, seed = 1.0, None
    fields = [identity, prompt, n, float(temperature), float(top_p), max_tokens, list(stop), seed]
    payload = json.dumps(fields)
    return hashlib.sha256(payload.encode()).hexdigest()


class CompletionCache:
    """Completions by key; in memory when ``path`` is None. Thread-safe."""

    def __init__(self, path: Path | str | None = None) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(":memory:" if path is None else str(path), check_same_thread=False)
        with self._lock, self._db:
            if path is not None:
                self._db.execute("PRAGMA journal_mode=WAL")  # readers in other processes never block
            self._db.execute(_SCHEMA)

    def get(self, key: str) -> list[Completion] | None:
        with self._lock:
            row = self._db.execute("SELECT completions FROM completions WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        return [Completion.from_json(c) for c in json.loads(row[0])]

    def put(self, key: str, backend: str, completions: Sequence[Completion]) -> None:
        text = json.dumps([c.to_json() for c in completions])
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO completions (key, backend, completions) VALUES (?, ?, ?)",
                (key, backend, text),
            )

    def __len__(self) -> int:
        with self._lock:
            (count,) = self._db.execute("SELECT COUNT(*) FROM completions").fetchone()
        return int(count)

    def close(self) -> None:
        with self._lock:
            self._db.close()


@dataclass
class CacheStats:
    hits: int = 0  # prompts served from the cache
    misses: int = 0  # cacheable prompts that were generated and stored
    uncacheable: int = 0  # prompts of unseeded sampled requests, always generated


class CachedGenerator:
    """A ``Generator`` that serves reproducible requests from ``cache`` and generates only the
    prompts it misses (in one call to ``inner``)."""

    def __init__(self, inner: Generator, cache: CompletionCache) -> None:
        self.inner = inner
        self.cache = cache
        self.stats = CacheStats()

    def identity(self) -> str:
        return self.inner.identity()

    def close(self) -> None:
        self.inner.close()
        self.cache.close()

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
        if not cacheable(temperature, seed):
            self.stats.uncacheable += len(prompts)
            return self.inner.generate(prompts, n, temperature, top_p, max_tokens, stop, seed)
        identity = self.inner.identity()
        keys = [cache_key(identity, p, n, temperature, top_p, max_tokens, stop, seed) for p in prompts]
        found: dict[str, list[Completion]] = {}
        for key in dict.fromkeys(keys):
            hit = self.cache.get(key)
            if hit is not None:
                found[key] = hit
        missing = [i for i, key in enumerate(keys) if key not in found]
        # A prompt repeated in the batch is generated once: its completions are the same anyway.
        todo = list(dict.fromkeys(keys[i] for i in missing))
        self.stats.hits += len(prompts) - len(missing)
        self.stats.misses += len(missing)
        if todo:
            first = {keys[i]: prompts[i] for i in reversed(missing)}
            batch = [first[k] for k in todo]
            fresh = self.inner.generate(batch, n, temperature, top_p, max_tokens, stop, seed)
            for key, completions in zip(todo, fresh, strict=True):
                self.cache.put(key, identity, completions)
                found[key] = completions
        return [found[key] for key in keys]
