"""Soundness rules for Rocq: forbidden commands and the axiom allow-list.

The text rules catch what must never run at all (commands that switch checking off or reach outside
the proof). Everything logical is decided by Coq itself: ``Print Assumptions`` of the checked
constant, with every axiom it names resolved to its full kernel path by ``About``.
"""

from __future__ import annotations

import re

from prover.itp.guard import Rule


def _rule(name: str, pattern: str, why: str) -> Rule:
    # (?<![\w.']) keeps `admit` from matching inside `readmit` or `Foo.admit`'s qualifier.
    return Rule(name, re.compile(rf"(?<![\w'.]){pattern}(?![\w'])"), why)


RULES: tuple[Rule, ...] = (
    _rule("Admitted", r"Admitted", "an admitted proof is an axiom"),
    _rule("admit", r"admit", "admit leaves a goal unproved"),
    _rule("give_up", r"give_up", "give_up leaves a goal unproved"),
    _rule("Abort", r"Abort", "an aborted proof proves nothing"),
    _rule("Admit Obligations", r"Admit\s+Obligations", "admitted obligations are axioms"),
    _rule(
        "Guard/Positivity/Universe Checking",
        r"(?:Set|Unset)\s+(?:(?:Guard|Positivity|Universe)\s+Checking|Definitional\s+UIP)",
        "switches a kernel check off",
    ),
    _rule("bypass_check", r"bypass_check", "switches a kernel check off"),
    _rule("Declare ML Module", r"Declare\s+ML\s+Module", "loads arbitrary native code"),
    _rule("Load", r"Load", "reads a file outside the proof"),
    _rule(
        "LoadPath",
        r"Add\s+(?:Rec\s+)?(?:LoadPath|ML\s+Path)|Remove\s+LoadPath",
        "changes where libraries come from",
    ),
    _rule("Redirect", r"Redirect", "writes a file"),
    _rule(
        "Extraction",
        r"(?:Recursive\s+|Separate\s+)?Extraction|Extract\s+(?:Constant|Inductive|Inlined)",
        "writes files or changes extraction",
    ),
    _rule("Cd", r"Cd", "changes the working directory"),
    _rule("Drop", r"Drop", "leaves the proof assistant's toplevel"),
    _rule("Quit", r"Quit", "stops the proof assistant"),
    _rule(
        "Reset/Back",
        r"(?:Reset|Back|BackTo|Restore\s+State|Write\s+State)",
        "rewinds or replaces the trusted state",
    ),
    _rule("Primitive", r"Primitive", "declares a kernel primitive"),
    _rule("Register", r"Register", "rebinds what tactics take as core constants"),
)

# Axioms a proof may depend on: the ones Coq's classical real numbers rest on, and the standard
# library's well-known consistent classical/extensionality axioms (full kernel paths).
ALLOWED_AXIOMS: frozenset[str] = frozenset(
    {
        "Coq.Reals.ClassicalDedekindReals.sig_forall_dec",
        "Coq.Reals.ClassicalDedekindReals.sig_not_dec",
        "Coq.Logic.FunctionalExtensionality.functional_extensionality_dep",
        "Coq.Logic.Classical_Prop.classic",
        "Coq.Logic.ClassicalEpsilon.constructive_indefinite_description",
        "Coq.Logic.IndefiniteDescription.constructive_indefinite_description",
        "Coq.Logic.ClassicalUniqueChoice.dependent_unique_choice",
        "Coq.Logic.ProofIrrelevance.proof_irrelevance",
        "Coq.Logic.PropExtensionality.propositional_extensionality",
        "Coq.Logic.Eqdep.Eq_rect_eq.eq_rect_eq",
        "Coq.Logic.JMeq.JMeq_eq",
        "Coq.Logic.Epsilon.epsilon_statement",
        "Coq.Logic.ClassicalChoice.choice",
        "Coq.Logic.ClassicalDescription.constructive_definite_description",
        "Coq.Logic.Description.constructive_definite_description",
    }
)

_AXIOM_LINE = re.compile(r"^([A-Za-z_][\w'.]*)(?:\s*:.*)?$")
_EXPANDS_TO = re.compile(r"Expands to:\s+Constant\s+(\S+)\s*$")


class UnexpectedAssumptions(ValueError):
    """``Print Assumptions`` said something other than a plain list of axioms."""


def parse_assumptions(output: str) -> list[str]:
    """Names of the axioms in ``Print Assumptions`` output.

    Anything but "Closed under the global context" or an ``Axioms:`` section is refused: section
    variables, guard- or positivity-unchecked definitions, and type-in-type all print other headers
    or lines (e.g. ``f is assumed to be guarded.``), and none of them may pass.
    """
    text = output.strip()
    if text == "Closed under the global context":
        return []
    lines = text.splitlines()
    if not lines or lines[0].strip() != "Axioms:":
        raise UnexpectedAssumptions(lines[0] if lines else "no output")
    names: list[str] = []
    for line in lines[1:]:
        if not line.strip() or line[0].isspace():
            continue  # continuation of the previous axiom's type
        match = _AXIOM_LINE.match(line)
        if not match:
            raise UnexpectedAssumptions(line)
        names.append(match.group(1))
    return names


def full_path(about_output: str) -> str | None:
    """The kernel path ``About`` resolves a name to, or None if it is not a constant."""
    # About prints the type first and "Expands to:" last; only the last line is About's own.
    match = _EXPANDS_TO.search(about_output.rstrip())
    return match.group(1) if match else None
