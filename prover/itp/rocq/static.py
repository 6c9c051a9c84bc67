"""The Rocq checks that need no Coq process: the same first layer every full check runs.

``prover check --static-only`` answers from this alone, so generated candidates can be pre-filtered on
a machine without Coq; a candidate refused here is refused identically by a full check.
"""

from __future__ import annotations

import re

from prover.itp.base import CheckRequest, Message, Reason, StaticVerdict
from prover.itp.guard import line_col
from prover.itp.rocq.messages import scan_sentence
from prover.itp.rocq.plan import plan_check

# Characters XML 1.0 cannot carry: coqidetop would pass them through raw and its replies would stop
# being well-formed, so no text holding them is ever sent.
_UNFRAMEABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def static_check(request: CheckRequest) -> StaticVerdict:
    for text, field, reason in (
        (request.statement or "", "statement", Reason.BAD_STATEMENT),
        (request.proof, "proof", Reason.BAD_INPUT),
    ):
        bad = _UNFRAMEABLE.search(text)
        if bad is not None:
            line, col = line_col(text, bad.start())
            where = f"control character U+{ord(bad.group()):04X} in the {field}"
            return StaticVerdict(False, reason, [Message("error", where, line, col)], where)
    try:
        plan = plan_check(request)
    except ValueError as exc:
        return StaticVerdict(False, Reason.BAD_STATEMENT, [Message("error", str(exc))], str(exc))
    forbidden = [m for s in plan.untrusted for m in scan_sentence(request.proof, s)]
    if forbidden:
        return StaticVerdict(False, Reason.FORBIDDEN, forbidden, forbidden[0].text)
    if not plan.theorem_names:
        return StaticVerdict(False, Reason.INCOMPLETE, [Message("error", "the file proves no theorem")])
    return StaticVerdict(True)

