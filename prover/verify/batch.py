"""Batch checking: JSONL requests in, one JSON verdict per line out, in input order.

Each input line is ``{"id": …, "proof": PATH, "statement": PATH}`` or the same with inline
``proof_text`` / ``statement_text``. Relative paths are looked up against the current directory
first, then against the JSONL file's own folder. A malformed line gets a ``bad_input`` result of
its own; it never stops the batch.
"""

from __future__ import annotations

import json
import sys
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tqdm import tqdm

from prover.itp.base import CheckRequest, Message, Reason, Verdict
from prover.verify.pool import VerifierPool


@dataclass
class BatchItem:
    id: Any
    request: CheckRequest | None  # None when the line itself was bad
    error: str | None = None


def read_text(path: Path) -> str:
    """A file's text, or ``ValueError`` with a one-line reason."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ValueError(f"no such file: {path}") from exc
    except IsADirectoryError as exc:
        raise ValueError(f"is a directory, not a file: {path}") from exc
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text: {path}") from exc
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from exc


def resolve(raw: object, base: Path, field: str) -> Path:
    """A batch line's path: absolute or found from the current folder as given, else beside the
    batch file (``base``)."""
    if not isinstance(raw, str) or not raw:
        raise ValueError(f"'{field}' must be a non-empty path string")
    path = Path(raw)
    if path.is_absolute() or path.exists():
        return path
    return base / path


def parse_line(line: str, number: int, base: Path) -> BatchItem:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        return BatchItem(f"line-{number}", None, f"line {number} is not JSON: {exc.msg}")
    if not isinstance(data, dict):
        return BatchItem(f"line-{number}", None, f"line {number} is not a JSON object")
    item_id = data.get("id", f"line-{number}")
    try:
        if "proof_text" in data:
            proof = data["proof_text"]
            if not isinstance(proof, str):
                raise ValueError("'proof_text' must be a string")
        elif "proof" in data:
            proof = read_text(resolve(data["proof"], base, "proof"))
        else:
            raise ValueError("needs 'proof' (a path) or 'proof_text'")
        statement: str | None = None
        if data.get("statement_text") is not None:
            statement = data["statement_text"]
            if not isinstance(statement, str):
                raise ValueError("'statement_text' must be a string")
        elif data.get("statement") is not None:
            statement = read_text(resolve(data["statement"], base, "statement"))
    except ValueError as exc:
        return BatchItem(item_id, None, f"line {number}: {exc}")
    return BatchItem(item_id, CheckRequest(proof, statement))


def read_batch(path: Path) -> list[BatchItem]:
    text = read_text(path)
    base = path.parent
    return [parse_line(line, n, base) for n, line in enumerate(text.splitlines(), 1) if line.strip()]


def _verdicts(pool: VerifierPool, items: list[BatchItem], timeout_s: float | None) -> Iterator[Verdict]:
    """Verdicts in input order, yielded as soon as the head of the line is done."""
    pending: deque[tuple[BatchItem, Future[Verdict] | None]] = deque()

    def head() -> Verdict:
        item, future = pending.popleft()
        if future is None:
            return Verdict(
                False, Reason.BAD_INPUT, [Message("error", item.error or "bad input")], detail=item.error
            )
        return future.result()

    for item in items:
        pending.append((item, None if item.request is None else pool.submit(item.request, timeout_s)))
        while pending and (pending[0][1] is None or pending[0][1].done()):
            yield head()
    while pending:
        yield head()


def run_batch(
    pool: VerifierPool,
    items: list[BatchItem],
    out: IO[str],
    timeout_s: float | None = None,
    progress: bool = True,
) -> int:
    """Check every item, writing one JSON line each; returns how many were verified."""
    verified = 0
    bar = tqdm(total=len(items), unit="proof", file=sys.stderr, disable=not progress, dynamic_ncols=True)
    with bar:
        for item, verdict in zip(items, _verdicts(pool, items, timeout_s), strict=True):
            out.write(json.dumps({"id": item.id, **verdict.to_json()}, ensure_ascii=False) + "\n")
            out.flush()
            verified += verdict.verified
            bar.update(1)
            bar.set_postfix(verified=verified, refresh=False)
    return verified
