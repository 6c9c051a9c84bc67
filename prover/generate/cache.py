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
from typing import TYPE_CHECKING

from prover.generate.base import Completion, Generator
from prover.generate.batching import Request, SamplingParams, as_requests, generate_requests, takes_messages

if TYPE_CHECKING:
    from prover.generate.prompts import Prompt

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
              stop: Sequence[str], seed: int | None, chat: Prompt | None = None) -> str:
    """Greedy requests ignore ``top_p`` and the seed, so those are normalised away for them. A
    structured prompt (``Request.chat``) is keyed by its turns and thinking switch too, since a chat
    backend sends those rather than the text; without one the key is what it always was."""
    if temperature == 0:
        top_p, seed = 1.0, None
    fields: list[object] = [identity, prompt, n, float(temperature), float(top_p), max_tokens, list(stop),
                            seed]
    if chat is not None:
        fields.append([chat.system, chat.user, chat.response, chat.thinking])
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
        return self.generate_requests(*as_requests(prompts, n, temperature, top_p, max_tokens, stop, seed))

    def generate_requests(
        self, requests: Sequence[Request], params: SamplingParams
    ) -> list[list[Completion]]:
        """Hits served from the cache; the misses and the uncacheable requests in one call."""
        identity = self.inner.identity()
        # The structured prompt is keyed only where the backend sends it: a text backend's keys stay
        # the same whether or not its callers attach one.
        chat = takes_messages(self.inner)
        keys: list[str | None] = []
        for r in requests:
            if cacheable(params.temperature, r.seed):
                keys.append(cache_key(identity, r.prompt, r.n, params.temperature, params.top_p,
                                      params.max_tokens, params.stop, r.seed, r.chat if chat else None))
            else:
                keys.append(None)
        self.stats.uncacheable += sum(key is None for key in keys)
        found: dict[str, list[Completion]] = {}
        for key in dict.fromkeys(k for k in keys if k is not None):
            hit = self.cache.get(key)
            if hit is not None:
                found[key] = hit
        missing = [i for i, key in enumerate(keys) if key is not None and key not in found]
        self.stats.hits += sum(key is not None and key in found for key in keys)
        self.stats.misses += len(missing)
        # A request repeated in the batch is generated once: its completions are the same anyway.
        first: dict[str, int] = {}
        for i in missing:
            first.setdefault(str(keys[i]), i)
        todo = list(first.values())
        fresh_only = [i for i, key in enumerate(keys) if key is None]
        sent = todo + fresh_only
        answers = generate_requests(self.inner, [requests[i] for i in sent], params) if sent else []
        out: dict[int, list[Completion]] = {}
        for i, completions in zip(sent, answers, strict=True):
            slot = keys[i]
            if slot is not None:
                self.cache.put(slot, identity, completions)
                found[slot] = completions
            out[i] = completions
        return [out[i] if key is None else found[key] for i, key in enumerate(keys)]
