"""Which axioms a checked constant rests on, and whether they are all allowed.

Two ways to ask Coq, with the same answer: prover's own plugin (``coq_plugin/``, see ``plugin.py``),
which prints full kernel paths and remembers library objects across checks (≈10 ms once warm), or,
when it is not built, ``Print Assumptions`` plus ``About`` for each axiom (0.3–0.5 s for a proof by
``lra``, since it walks every library proof the candidate reaches, every time).
"""

from __future__ import annotations

from collections.abc import Callable

from prover.itp.rocq.guard import UnexpectedAssumptions, full_path, parse_assumptions

# Runs one sentence in the session: (True, what it printed) or (False, the error).
Query = Callable[[str], tuple[bool, str]]


def assumptions(query: Query, constant: str, plugin: bool) -> tuple[str | None, list[str]]:
    """(why ``constant`` is ruled out whatever the allow-list says, or None; the full kernel paths of
    the axioms it rests on). Judging the paths against the allow-list and the trusted statement's own
    declarations is the caller's job: only it can ask Coq what the statement declared."""
    return _with_plugin(query, constant) if plugin else _with_print(query, constant)


def _with_plugin(query: Query, constant: str) -> tuple[str | None, list[str]]:
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
    return None, sorted(set(paths))


def _with_print(query: Query, constant: str) -> tuple[str | None, list[str]]:
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
        path = resolve(query, name)
        if path is None:
            return f"cannot resolve axiom {name}", paths
        paths.append(path)
    return None, sorted(set(paths))


def resolve(query: Query, name: str) -> str | None:
    """The full kernel path of the constant ``name`` denotes here (``About``), or None when it is not
    a constant (a notation, a constructor, nothing)."""
    ok, about = query(f"About {name}.")
    return full_path(about) if ok else None
