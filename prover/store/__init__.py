"""The self-play store: one SQLite file holding a self-play run's whole state (problems, conjectures,
attempts, certified proofs, rounds and stages), written idempotently so a run resumes after a crash.
See ``db.py`` for the ``Store``, ``rows.py`` for the dataclasses it takes and returns, ``schema.py``
for the tables; ``prover store stats`` is ``prover/cli/store.py``."""

from prover.store.db import Store
from prover.store.rows import (
    AttemptRow,
    ConjectureRow,
    CorrectionRow,
    ProblemRow,
    ProofRow,
    RoundRow,
)
from prover.store.summary import format_stats

__all__ = [
    "AttemptRow",
    "ConjectureRow",
    "CorrectionRow",
    "ProblemRow",
    "ProofRow",
    "RoundRow",
    "Store",
    "format_stats",
]
