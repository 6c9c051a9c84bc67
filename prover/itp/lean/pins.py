"""The Lean projects the backend can run, one per pin, and statements known not to elaborate on one.

A proof checked against one Mathlib says nothing about another (lemmas are renamed, notation is
removed), so every Lean benchmark port names the pin it was written for (``prover.evaluate.
benchmarks``) and the backend launches that pin's project. Two pins:

* ``v4.24``: ``lean_project/``, Lean v4.24.0 and Mathlib ``v4.24.0``, the toolchain of today's ports
  (yangky11's miniF2F-lean4);
* ``v4.9``: ``lean_project_v4_9/``, exactly the Lean 4.9-era environment DeepSeek-Prover-V1.5 and
  Goedel-Prover were trained and evaluated in (Lean v4.9.0-rc1, DeepSeek's Mathlib fork commit and
  REPL fork); where each revision comes from is in ``lean_project_v4_9/README.md``.

Only files are read here: installing is ``prover.itp.lean.setup``'s job.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class SetupStep:
    """One ``lake`` call of ``prover setup lean``; a step that may fail is followed by one that
    does the same work the slow way."""

    args: tuple[str, ...]
    required: bool = True
    env: tuple[tuple[str, str], ...] = ()
    timeout_factor: float = 1.0  # times the setup's per-step timeout (building Mathlib takes hours)


@dataclass(frozen=True)
class LeanPin:
    name: str
    folder: str  # the project folder next to the package in a source checkout
    env_var: str  # where a copy kept elsewhere is named
    toolchain: str  # what the folder's lean-toolchain says (a test keeps the two equal)
    mathlib: str  # the Mathlib commit the folder's lakefile requires
    setup: tuple[SetupStep, ...]
    what: str

    def project_dir(self) -> Path:
        configured = os.environ.get(self.env_var)
        return Path(configured) if configured else REPO / self.folder


_REPL_TARGET = ("build", "REPL/repl")

PINS: dict[str, LeanPin] = {
    p.name: p
    for p in (
        LeanPin(
            "v4.24", "lean_project", "PROVER_LEAN_PROJECT", "leanprover/lean4:v4.24.0",
            "f897ebcf72cd16f89ab4577d0c826cd14afaafc7",
            # `cache get` resolves the pinned dependencies and downloads Mathlib's prebuilt oleans.
            (SetupStep(("exe", "cache", "get")), SetupStep(_REPL_TARGET)),
            "Lean v4.24.0, Mathlib v4.24.0 (today's ports)",
        ),
        LeanPin(
            "v4.9", "lean_project_v4_9", "PROVER_LEAN_PROJECT_V4_9", "leanprover/lean4:v4.9.0-rc1",
            "2f65ba7f1a9144b20c8e7358513548e317d26de1",
            (
                # Writes lake-manifest.json (the fork's own dependency revisions); its post-update
                # hook's cache download is left to the next step, whose failure is not fatal.
                SetupStep(("update",), env=(("MATHLIB_NO_CACHE_ON_UPDATE", "1"),)),
                # The fork changed Mathlib's lakefile and manifest, which Mathlib's cache hashes
                # into every file's key, so the server may hold nothing for it ...
                SetupStep(("exe", "cache", "get"), required=False),
                # ... and then Mathlib is built from source, as DeepSeek's own README does.
                SetupStep(("build", "Mathlib"), timeout_factor=6.0),
                SetupStep(_REPL_TARGET),
            ),
            "Lean v4.9.0-rc1, DeepSeek's Mathlib fork (DeepSeek-Prover-V1.5, Goedel-Prover ports)",
        ),
    )
}
DEFAULT_PIN = "v4.24"


def get_pin(name: str | None) -> LeanPin:
    """The pin called ``name`` (the default for None); ``ValueError`` in one line otherwise."""
    try:
        return PINS[name or DEFAULT_PIN]
    except KeyError:
        raise ValueError(f"unknown Lean pin {name!r}; known: {', '.join(PINS)}") from None


def pin_of(project_dir: Path) -> str | None:
    """The pin a project is, told by its ``lean-toolchain`` (a copy kept elsewhere is the same
    pin); None for a toolchain no pin names."""
    try:
        lines = (project_dir / "lean-toolchain").read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    toolchain = lines[0].strip() if lines else ""
    return next((p.name for p in PINS.values() if p.toolchain == toolchain), None)


@dataclass(frozen=True)
class Break:
    """Statements that cannot elaborate on ``pin``: ``pattern`` finds them in the statement text."""

    pin: str
    pattern: re.Pattern[str]
    why: str


# `∑ x in s, f x` (and `∏`, a binder with or without a type): Mathlib deprecated it for
# `∑ x ∈ s, f x` in 2024 and v4.24's Mathlib no longer parses it (issue 16); the v4.9 Mathlib
# still defines it (syntax `bigsumin` in Mathlib/Algebra/BigOperators/Group/Finset.lean).
BREAKS = (
    Break(
        "v4.24",
        re.compile(r"[∑∏]\s*\(?[^\s,():∈]+(?:\s*:\s*[^,]+?)?\)?\s+in\s"),
        "`∑ x in s` / `∏ x in s` notation, removed from Mathlib before v4.24",
    ),
)


def elaboration_problem(statement: str, pin: str) -> str | None:
    """Why ``statement`` is known not to elaborate on ``pin``, or None when nothing is known."""
    for rule in BREAKS:
        if rule.pin == pin and rule.pattern.search(statement):
            return rule.why
    return None
