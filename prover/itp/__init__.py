"""Proof-assistant backends behind one small interface (see ``base.py``)."""

from __future__ import annotations

from prover.itp.base import Backend

BACKEND_NAMES = ("rocq", "lean", "isabelle")


def get_backend(name: str) -> Backend:
    """The backend called ``name``; raises ``ValueError`` for an unknown name."""
    # Imported lazily so that a missing optional dependency of one backend never breaks the others.
    if name == "rocq":
        from prover.itp.rocq import RocqBackend

        return RocqBackend()
    if name == "lean":
        from prover.itp.lean import LeanBackend

        return LeanBackend()
    if name == "isabelle":
        from prover.itp.isabelle import IsabelleBackend

        return IsabelleBackend()
    raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKEND_NAMES)}")
