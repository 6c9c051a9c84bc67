"""What the search must know of a proof assistant's tactic language, as data: one value per language.

The best-first search (``portfolio.py``) is the same for every proof assistant; what differs is
which rows it tries (the table), how it reads a printed goal into features (``Shape``), which
tactics with arguments it writes, how one closer is run on every open goal, and how long a first
try may take. A ``SearchLanguage`` holds exactly those, so the search has no ``if lean`` in it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from prover.itp.goals import Goal
from prover.search.arguments import argument_candidates
from prover.search.lean_shape import (
    lean_arguments,
    lean_shape_of,
    lean_statement_definitions,
    lean_statement_features,
)
from prover.search.lean_tactics import LEAN_TABLE
from prover.search.shape import Shape, shape_of, statement_definitions, statement_features
from prover.search.tactics import TABLE, Rule


@dataclass(frozen=True)
class SearchLanguage:
    name: str  # the backend's name
    table: tuple[Rule, ...]
    # The limit of a tactic's first try; a timeout earns one retry at the row's own limit.
    first_try_s: float
    # A closer on several goals: "try it on each" (a closer that fits one goal often fits all).
    every_goal: Callable[[str], str]
    shape: Callable[[Goal, frozenset[str], tuple[str, ...]], Shape]
    statement_features: Callable[[str], frozenset[str]]
    statement_definitions: Callable[[str], tuple[str, ...]]
    arguments: Callable[[Shape, Goal], list[tuple[Rule, str]]]  # tactics with the goal's terms


def _rocq_every_goal(tactic: str) -> str:
    return f"all: try ({tactic.rstrip('.')})."


def _lean_every_goal(tactic: str) -> str:
    return f"all_goals try ({tactic})"


ROCQ = SearchLanguage(
    "rocq", TABLE, 1.5, _rocq_every_goal, shape_of, statement_features, statement_definitions,
    argument_candidates,
)
# Lean's first try runs to the row's own limit: the REPL cannot cancel a request, so a timeout
# kills the process and the restart re-imports the header (Mathlib: seconds to a minute) and
# replays the path — far dearer than the few seconds a short first try would save.
LEAN = SearchLanguage(
    "lean", LEAN_TABLE, float("inf"), _lean_every_goal, lean_shape_of, lean_statement_features,
    lean_statement_definitions, lean_arguments,
)
LANGUAGES = {language.name: language for language in (ROCQ, LEAN)}


def search_language(backend: str) -> SearchLanguage:
    """The search's language for a backend name; ``ValueError`` for one with no goal-level session."""
    try:
        return LANGUAGES[backend]
    except KeyError:
        raise ValueError(
            f"proof search needs a goal-level session, which the {backend} backend does not have "
            f"(it has: {', '.join(LANGUAGES)})"
        ) from None
