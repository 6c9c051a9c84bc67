"""What one Rocq check runs: the trusted part (header, prelude, targets) and the untrusted sentences."""

from __future__ import annotations

import re
from dataclasses import dataclass

from prover.itp.base import CheckRequest
from prover.itp.rocq.text import (
    Sentence,
    Statement,
    declared_theorems,
    leading_header,
    parse_statement,
    split_sentences,
)

_DECLARATION_RE = re.compile(
    r"^(?:Axiom|Axioms|Parameter|Parameters|Conjecture|Hypothesis|Hypotheses|Variable|Variables)\s+(.*)\.$",
    re.DOTALL,
)


@dataclass
class Plan:
    statement: Statement | None  # the trusted target; None checks every theorem of the proof file
    header: list[Sentence]  # from the statement (trusted) or, without one, from the proof file
    candidate: list[Sentence]  # untrusted sentences, trusted repeats removed
    theorem_names: list[str]

    @property
    def untrusted(self) -> list[Sentence]:
        """Everything the guard must scan."""
        return self.candidate if self.statement is not None else self.header + self.candidate


def plan_check(request: CheckRequest) -> Plan:
    """Split the request; raises ``ValueError`` for a statement that states nothing."""
    candidate = split_sentences(request.proof)
    if request.statement is None:
        header = leading_header(candidate)
        return Plan(None, header, candidate[len(header) :], declared_theorems(candidate))
    statement = parse_statement(request.statement)
    # A trusted sentence repeated in the proof file has already run, in the trusted context.
    trusted = {s.normalized for s in statement.header + statement.prelude}
    remaining: list[Sentence] = []
    for sentence in candidate:
        if sentence.normalized in trusted:
            trusted.remove(sentence.normalized)
        else:
            remaining.append(sentence)
    return Plan(statement, statement.header, remaining, [t.name for t in statement.targets])
