"""Proof-assistant backends behind one small interface (see ``base.py``), one package each:
``rocq/``, ``lean/``, ``isabelle/``; ``guard.py`` and ``sandbox.py`` are shared by all three."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from prover.itp.base import Backend

if TYPE_CHECKING:
    from prover.config import Settings

BACKEND_NAMES = ("rocq", "lean", "isabelle")


def get_backend(name: str, settings: Settings | None = None, pin: str | None = None) -> Backend:
    """The backend called ``name``, configured from ``settings`` (defaults when None).

    ``pin`` is the Lean project a benchmark port names (``prover.itp.lean.pins``); it wins over the
    ``[lean] pin`` setting (the default for single checks), and an explicit ``[lean] project_dir``
    wins over both. Raises ``ValueError`` for an unknown name or pin. Backends are imported lazily
    so that a missing optional dependency of one never breaks the others.
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
        from prover.itp.lean.pins import get_pin

        lean = settings.lean
        chosen = get_pin(pin or lean.pin)
        project = Path(lean.project_dir) if lean.project_dir is not None else chosen.project_dir()
        native = lean.allow_native_decide
        return LeanBackend(LeanConfig(project_dir=project, sandbox=lean.sandbox, allow_native_decide=native))
    if name == "isabelle":
        from prover.itp.isabelle.backend import IsabelleBackend

        return IsabelleBackend()
    raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKEND_NAMES)}")
