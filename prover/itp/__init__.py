"""Proof-assistant backends behind one small interface (see ``base.py``), one package each:
``rocq/``, ``lean/``, ``isabelle/``; ``guard.py`` and ``sandbox.py`` are shared by all three."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from prover.itp.base import Backend

if TYPE_CHECKING:
    from prover.config import Settings

BACKEND_NAMES = ("rocq", "lean", "isabelle")


def get_backend(name: str, settings: Settings | None = None) -> Backend:
    """The backend called ``name``, configured from ``settings`` (defaults when None).

    Raises ``ValueError`` for an unknown name. Backends are imported lazily so that a missing optional
    dependency of one never breaks the others.
    """
    if settings is None:
        from prover.config import Settings

        settings = Settings()
    if name == "rocq":
        from prover.itp.rocq.backend import RocqBackend
        from prover.itp.rocq.preload import DEFAULT_PRELOAD

        rocq = settings.rocq
        preload = DEFAULT_PRELOAD if rocq.preload is None else tuple(rocq.preload)
        return RocqBackend(rocq.sandbox, tuple(rocq.extra_args), preload, rocq.plugin)
    if name == "lean":
        from prover.itp.lean.backend import LeanBackend, LeanConfig

        lean = settings.lean
        config = LeanConfig(sandbox=lean.sandbox, allow_native_decide=lean.allow_native_decide)
        if lean.project_dir is not None:
            config = LeanConfig(
                project_dir=Path(lean.project_dir),
                sandbox=lean.sandbox,
                allow_native_decide=lean.allow_native_decide,
            )
        return LeanBackend(config)
    if name == "isabelle":
        from prover.itp.isabelle.backend import IsabelleBackend

        return IsabelleBackend()
    raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKEND_NAMES)}")
