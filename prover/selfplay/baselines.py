"""The baselines every learned held-out number stands beside, measured on the same problems: a
nearest-neighbour copy of the training proofs, and the trivial tactics.

A copy baseline answers "did the model learn more than to retrieve?": each held-out problem gets
the tactic script of the most similar training statement (token overlap), replayed verbatim. The
trivial tactics answer "was there anything to learn?". Both replay their scripts in a goal
session and count a problem only when the pool certifies the finished proof.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from prover.evaluate.benchmarks import BenchProblem
from prover.itp.base import CheckRequest
from prover.search.runner import WorkerDirs, open_session
from prover.selfplay.filter import TRIVIAL_TACTICS
from prover.verify.pool import CheckPool

TRIVIAL_SCRIPTS: tuple[tuple[str, ...], ...] = (
    *((f"{t}.",) for t in TRIVIAL_TACTICS),
    ("intros; lia.",), ("intros; lra.",), ("intros; nia.",), ("intros; nra.",), ("intros; ring.",),
    ("intros; field.",), ("easy.",), ("reflexivity.",),
)
_TOKEN = re.compile(r"[A-Za-z_][\w'.]*|\d+|[^\s\w]+")
_STEP_TIMEOUT_S = 5.0


@dataclass
class Baselines:
    nearest_copy: list[str] = field(default_factory=list)  # held-out problems each baseline proves
    trivial: list[str] = field(default_factory=list)

    @staticmethod
    def counts(found: Baselines) -> Counts:
        return Counts(len(found.nearest_copy), len(found.trivial))


@dataclass
class Counts:
    nearest_copy: int
    trivial: int


def theorem_body(statement: str) -> str:
    """The statement without its theorem's name, in single spaces: a renamed copy is still a copy."""
    body = re.sub(r"^\s*(Theorem|Lemma)\s+[\w']+", r"\1", statement, flags=re.MULTILINE)
    return " ".join(body.split())


def _tokens(statement: str) -> set[str]:
    return set(_TOKEN.findall(theorem_body(statement))) - {"Theorem", "Lemma"}


def nearest(problem: BenchProblem, candidates: Mapping[str, set[str]]) -> str | None:
    """The candidate whose statement shares the most tokens with ``problem``'s (Jaccard)."""
    mine = _tokens(problem.statement)
    best, best_score = None, -1.0
    for name, theirs in candidates.items():
        score = len(mine & theirs) / max(1, len(mine | theirs))
        if score > best_score:
            best, best_score = name, score
    return best


def replay(problem: BenchProblem, scripts: Sequence[Sequence[str]], pool: CheckPool, workdir: Path) -> bool:
    """Whether one of ``scripts``, replayed verbatim, proves ``problem`` (pool-certified)."""
    try:
        session = open_session(problem.statement, workdir)
    except (RuntimeError, ValueError):
        return False
    try:
        for script in scripts:
            state = session.root
            for tactic in script:
                outcome = session.step(state, tactic, _STEP_TIMEOUT_S)
                if not outcome.ok or outcome.state is None:
                    break
                state = outcome.state
            else:
                request = CheckRequest(session.proof_text(script), problem.statement)
                if state.finished and pool.check(request).verified:
                    return True
        return False
    finally:
        session.close()


def measure_baselines(heldout: Sequence[BenchProblem], train: Sequence[BenchProblem],
                      scripts: Mapping[str, Sequence[str]], pool: CheckPool, out: Path | None = None,
                      workers: int = 2) -> Baselines:
    """Both baselines on ``heldout``; ``scripts``: each proved training problem's tactic script."""
    tokens = {p.key: _tokens(p.statement) for p in train if p.key in scripts}
    dirs = WorkerDirs("prover-baselines-")

    def one(problem: BenchProblem) -> tuple[bool, bool]:
        neighbour = nearest(problem, tokens)
        copied = neighbour is not None and replay(problem, [scripts[neighbour]], pool, dirs.mine())
        return copied, replay(problem, TRIVIAL_SCRIPTS, pool, dirs.mine())

    found = Baselines()
    with ThreadPoolExecutor(max_workers=workers) as executor:
        for problem, (copied, trivial) in zip(heldout, executor.map(one, heldout), strict=True):
            if copied:
                found.nearest_copy.append(problem.key)
            if trivial:
                found.trivial.append(problem.key)
    if out is not None:
        saved = {"nearest_copy": found.nearest_copy, "trivial": found.trivial}
        out.write_text(json.dumps(saved, indent=2) + "\n")
    return found
