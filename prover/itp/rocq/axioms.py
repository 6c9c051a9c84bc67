"""Which axioms a checked constant rests on, and whether they are all allowed.

Two ways to ask Coq, with the same answer: prover's own plugin (``coq_plugin/``, see ``plugin.py``),
which prints full kernel paths and remembers library objects across checks (≈10 ms once warm), or,
when it is not built, ``Print Assumptions`` plus ``About`` for each axiom (0.3–0.5 s for a proof by
``lra``, since it walks every library proof the candidate reaches, every time).
"""

from __future__ import annotations

from collections.abc import Callable

from prover.itp.rocq.guard import ALLOWED_AXIOMS, UnexpectedAssumptions, full_path, parse_assumptions

# Runs one sentence in the session: (True, what it printed) or (False, the error).
Query = Callable[[str], tuple[bool, str]]


def allowed(path: str, trusted: set[str]) -> bool:
    """An allow-listed axiom, or one the trusted statement itself declares (at the top level)."""
    return path in ALLOWED_AXIOMS or (path.startswith("Top.") and path[4:] in trusted)


def check_axioms(
    query: Query, constant: str, trusted: set[str], plugin: bool
) -> tuple[str | None, list[str]]:
    """(why ``constant`` is not acceptable, or None; the full paths of the axioms it rests on)."""
    return _with_plugin(query, constant, trusted) if plugin else _with_print(query, constant, trusted)


def _with_plugin(query: Query, constant: str, trusted: set[str]) -> tuple[str | None, list[str]]:
    ok, output = query(f"Prover Assumptions {constant}.")
    if not ok:
        return f"Prover Assumptions failed: {output}", []
    lines = output.splitlines()
    if not lines or lines[-1] != "DONE":
        return "no complete answer about assumptions", []
    paths: list[str] = []
    for line in lines[:-1]:
        kind, _, path = line.partition(" ")
        if kind != "AXIOM":
            return f"depends on something that is not a plain axiom: {line}", paths
        paths.append(path)
    return _judge(paths, trusted)


def _with_print(query: Query, constant: str, trusted: set[str]) -> tuple[str | None, list[str]]:
    """The answers are printed text, and the candidate's notations (only-printing ones, or strings
    holding newlines) could forge lines of it. With Printing All no notation or string literal is
    printed, so every line at column 0 is a real entry and ``Expands to:`` is About's own."""
    for option in ("Set Printing All.", "Set Printing Width 100000.", "Unset Printing Depth."):
        ok, _ = query(option)
        if not ok:
            return f"cannot reset printing with {option!r}", []
    ok, output = query(f"Print Assumptions {constant}.")
    if not ok:
        return f"Print Assumptions failed: {output}", []
    try:
        names = parse_assumptions(output)
    except UnexpectedAssumptions as exc:
        return f"depends on something that is not a plain axiom: {exc}", []
    paths: list[str] = []
    for name in names:
        ok, about = query(f"About {name}.")
        path = full_path(about) if ok else None
        if path is None:
            return f"cannot resolve axiom {name}", paths
        paths.append(path)
    return _judge(paths, trusted)


def _judge(paths: list[str], trusted: set[str]) -> tuple[str | None, list[str]]:
    paths = sorted(set(paths))
    for path in paths:
        if not allowed(path, trusted):
            return f"depends on axiom {path}, which is not allowed", paths
    return None, paths
