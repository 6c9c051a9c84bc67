"""Verifier throughput: naive per-file ``coqc`` against the pool (1 and 2 workers), in one run.

Workload: every miniF2F-rocq statement with a proof attempt that Coq must elaborate and reject
(``Proof. intros. Qed.``), so no static shortcut can skip the work; optionally (``--batch``) a JSONL
file of real proofs in ``prover check --batch`` format. Prints a table of checks/s, p50/p95 latency and
peak resident memory (the process tree, sampled), and agreement between the two checkers.

    python bench/verifier_throughput.py                      # all 488 statements
    python bench/verifier_throughput.py --limit 60 --workers 1 2
    python bench/verifier_throughput.py --batch data/rocq-demo/batch.jsonl --good-only  # real proofs
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from prover.itp.base import CheckRequest, Limits
from prover.itp.rocq.backend import RocqBackend
from prover.itp.sandbox import tree_rss_bytes
from prover.verify.batch import read_batch
from prover.verify.pool import VerifierPool
from prover.verify.stats import percentile

DATA = Path(__file__).resolve().parents[1] / "data" / "minif2f-rocq"
_TAIL = re.compile(r"Proof\.\s*(?:Admitted\.)?\s*$")


@dataclass
class Run:
    name: str
    verdicts: list[bool]
    latencies: list[float]
    wall_s: float
    peak_rss: int

    def row(self) -> str:
        p50, p95 = percentile(self.latencies, 0.5), percentile(self.latencies, 0.95)
        rate = len(self.verdicts) / self.wall_s
        return (
            f"| {self.name:<18} | {rate:8.2f} | {p50:7.3f} | {p95:7.3f} "
            f"| {self.peak_rss / 2**20:12.0f} | {sum(self.verdicts):8d} |"
        )


class RssSampler:
    """Peak resident memory of this process and everything it started."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, tree_rss_bytes(os.getpid()))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def attempts(limit: int | None) -> list[CheckRequest]:
    files = sorted((DATA / "valid").glob("*.v")) + sorted((DATA / "test").glob("*.v"))
    requests = []
    for path in files[:limit]:
        statement = path.read_text()
        proof = _TAIL.sub("Proof.\n  intros.\nQed.\n", statement)
        requests.append(CheckRequest(proof, statement))
    return requests


def batch_requests(path: Path, good_only: bool) -> list[CheckRequest]:
    """The requests of a ``prover check --batch`` file (optionally only those expected to verify)."""
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    items = read_batch(path)
    return [
        item.request
        for line, item in zip(lines, items, strict=True)
        if item.request is not None and (line.get("expect", True) or not good_only)
    ]


def run_coqc(requests: list[CheckRequest], workers: int, timeout_s: float) -> Run:
    with tempfile.TemporaryDirectory(prefix="bench-coqc-") as tmp:

        def one(i: int) -> tuple[bool, float]:
            path = Path(tmp) / f"Cand{i}.v"
            path.write_text(requests[i].proof)
            start = time.monotonic()
            try:
                done = subprocess.run(
                    ["coqc", "-q", path.name], cwd=tmp, capture_output=True, timeout=timeout_s
                )
                ok = done.returncode == 0
            except subprocess.TimeoutExpired:
                ok = False
            return ok, time.monotonic() - start

        with RssSampler() as rss:
            start = time.monotonic()
            with ThreadPoolExecutor(workers) as ex:
                results = list(ex.map(one, range(len(requests))))
            wall = time.monotonic() - start
    return Run(f"coqc x{workers}", [r[0] for r in results], [r[1] for r in results], wall, rss.peak)


def run_pool(requests: list[CheckRequest], workers: int, timeout_s: float) -> Run:
    with RssSampler() as rss:
        start = time.monotonic()
        with VerifierPool(RocqBackend(), workers, Limits(timeout_s=timeout_s)) as pool:
            verdicts = list(pool.map(requests))
        wall = time.monotonic() - start
    return Run(
        f"pool x{workers}", [v.verified for v in verdicts], [v.time_s for v in verdicts], wall, rss.peak
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--limit", type=int, help="only the first N statements")
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2], help="parallelism levels to compare"
    )
    parser.add_argument("--batch", type=Path, nargs="+", help="JSONL files of real proofs (--batch format)")
    parser.add_argument("--good-only", action="store_true", help="with --batch: only lines with expect: true")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per check")
    parser.add_argument("--json-out", type=Path, help="also write the numbers as JSON")
    args = parser.parse_args()
    if args.batch is not None:
        requests = [r for path in args.batch for r in batch_requests(path, args.good_only)][: args.limit]
    else:
        requests = attempts(args.limit)
    print(f"{len(requests)} checks; machine: {os.cpu_count()} CPUs", file=sys.stderr)
    runs: list[Run] = []
    for workers in args.workers:
        runs.append(run_coqc(requests, workers, args.timeout))
        runs.append(run_pool(requests, workers, args.timeout))
    print("| checker            | checks/s | p50 (s) | p95 (s) | peak RSS MiB | verified |")
    print("|--------------------|----------|---------|---------|--------------|----------|")
    for run in runs:
        print(run.row())
    for workers in args.workers:
        naive = next(r for r in runs if r.name == f"coqc x{workers}")
        pool = next(r for r in runs if r.name == f"pool x{workers}")
        speedup = naive.wall_s / pool.wall_s
        accepted_by_coqc_only = sum(a and not b for a, b in zip(naive.verdicts, pool.verdicts, strict=True))
        print(
            f"x{workers}: pool is {speedup:.1f}x faster than coqc; "
            f"{accepted_by_coqc_only} accepted by coqc but rejected by the pool"
        )
    if args.json_out is not None:
        args.json_out.write_text(json.dumps([run.__dict__ for run in runs]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
