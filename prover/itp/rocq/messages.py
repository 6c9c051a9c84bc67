"""Turning what coqidetop says into the verdict's messages: positions in the proof file, reasons."""

from __future__ import annotations

from prover.itp.base import Message, Reason, Verdict
from prover.itp.guard import line_col, scan
from prover.itp.rocq.coqide import Answer, Feedback
from prover.itp.rocq.guard import RULES
from prover.itp.rocq.text import ROCQ_SYNTAX, Sentence

_MAX_MESSAGE_CHARS = 20_000


def fail(reason: Reason, messages: list[Message], text: str, axioms: list[str] | None = None) -> Verdict:
    return Verdict(False, reason, [*messages, Message("error", text)], axioms=axioms or [], detail=text)


def scan_sentence(proof: str, sentence: Sentence) -> list[Message]:
    found = scan(sentence.text, ROCQ_SYNTAX, RULES)
    base_line, base_col = line_col(proof, sentence.start)
    return [
        Message(
            m.severity,
            m.text,
            (m.line or 1) + base_line - 1,
            (m.column or 0) + (base_col if m.line == 1 else 0),
        )
        for m in found
    ]


def error_of(answer: Answer) -> Feedback:
    errors = answer.messages("error")
    if errors:
        return errors[-1]
    return Feedback("error", answer.error or "error", answer.error_start, answer.error_stop)


def positioned(feedback: Feedback, proof: str, sentence: Sentence) -> Message:
    line, col = line_col(proof, sentence.start + (feedback.start or 0))
    text = feedback.text
    if len(text) > _MAX_MESSAGE_CHARS:  # a message for people to read: a huge goal or term is cut
        text = text[:_MAX_MESSAGE_CHARS] + " …[truncated]"
    return Message(feedback.level, text, line, col)
