"""The static layer of the Lean and Isabelle backends on the adversarial cases and on miniF2F.

Every case of tests/adversarial/{lean,isabelle}/cases.jsonl goes through ``backend.static_check``
(what ``prover check --static-only`` runs) and must come out as its ``expect`` says: every cheat the
text reveals refused, no legitimate proof refused. A refused case must then be refused identically
(reason, detail, messages) by a full check, before anything reaches the proof assistant: the full
checks run here against the stand-ins, which log every request they receive.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from prover.itp.base import CheckRequest, Limits, StaticVerdict, Verdict
from prover.itp.isabelle.backend import IsabelleBackend, IsabelleConfig
from prover.itp.lean.backend import LeanBackend, LeanConfig
from tests.conftest import DATA, ISABELLE_FIXTURES, needs
from tests.standins.isabelle_server_standin import write_fake_isabelle

ADVERSARIAL = Path(__file__).parent / "adversarial"
LEAN_REPL_STANDIN = Path(__file__).parent / "standins" / "lean_repl_standin.py"
MINIF2F_LEAN = DATA / "minif2f-lean4" / "minif2f_lean4.jsonl"
MINIF2F_ISABELLE = DATA / "minif2f-isabelle" / "minif2f_isabelle.jsonl"
FIELDS = {"id", "statement_text", "proof_text", "expect", "why"}


def load(system: str) -> list[dict[str, Any]]:
    lines = (ADVERSARIAL / system / "cases.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


CASES = {system: load(system) for system in ("lean", "isabelle")}
BACKENDS: dict[str, Any] = {
    "lean": LeanBackend(LeanConfig(project_dir=Path("/nonexistent"))),
    "isabelle": IsabelleBackend(IsabelleConfig(executable="isabelle-not-installed-here")),
}
ALL = [(system, case) for system, cases in CASES.items() for case in cases]


def request(case: dict[str, Any]) -> CheckRequest:
    return CheckRequest(case["proof_text"], case["statement_text"])


def same(verdict: Verdict, static: StaticVerdict) -> bool:
    return (verdict.verified, verdict.reason, verdict.detail, verdict.messages) == (
        False,
        static.reason,
        static.detail,
        static.messages,
    )


@pytest.mark.parametrize("system", sorted(CASES))
def test_case_files_are_well_formed(system: str) -> None:
    cases = CASES[system]
    assert len(cases) >= 40
    assert all(set(case) == FIELDS for case in cases), "fields: id, statement_text, proof_text, expect, why"
    assert len({case["id"] for case in cases}) == len(cases)
    expects = [case["expect"] for case in cases]
    assert set(expects) == {"pass", "refused"} and expects.count("pass") >= 15


@pytest.mark.parametrize(("system", "case"), ALL, ids=[f"{s}:{c['id']}" for s, c in ALL])
def test_static_check_meets_the_expectation(system: str, case: dict[str, Any]) -> None:
    verdict = BACKENDS[system].static_check(request(case))
    assert verdict.to_json()["verified"] is None
    if case["expect"] == "pass":
        assert verdict.passed, f"{case['why']}: refused {verdict.reason}: {verdict.detail} {verdict.messages}"
        assert verdict.reason is None and verdict.detail is None
    else:
        assert not verdict.passed, f"{case['why']}: passed"
        assert verdict.reason is not None and verdict.detail and verdict.messages


def test_static_check_never_raises_on_garbage() -> None:
    garbage = [
        "",
        "   ",
        "theory",
        "theory X imports",
        "@{",
        "‹",
        '"',
        "(*",
        "/-",
        "open",
        "open X in",
        "\\<^",
    ]
    for backend in BACKENDS.values():
        for text in garbage:
            for statement in (None, text):
                verdict = backend.static_check(CheckRequest(text, statement))
                assert isinstance(verdict, StaticVerdict) and (verdict.passed or verdict.reason is not None)


# ---- a static refusal is the full check's refusal ------------------------------------------------


def test_lean_full_check_refuses_exactly_as_the_static_layer(tmp_path: Path) -> None:
    refused = [case for case in CASES["lean"] if case["expect"] == "refused"]
    script, log = tmp_path / "script.json", tmp_path / "log.jsonl"
    script.write_text(json.dumps({"rules": [{"cmd": "^import Mathlib", "reply": {"env": "$env"}}]}))
    command = (sys.executable, str(LEAN_REPL_STANDIN), "script", str(script), "--log", str(log))
    backend = LeanBackend(LeanConfig(project_dir=tmp_path, repl_command=command, sandbox=False))
    key = backend.header_key(request(refused[0]))
    session = backend.open_session(key, tmp_path / "scratch", Limits(timeout_s=10))
    try:
        for case in refused:
            assert backend.header_key(request(case)) == key
            verdict = session.check(request(case), 10)
            assert same(verdict, backend.static_check(request(case))), case["id"]
    finally:
        session.close()
    requests = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["request"]["cmd"] for e in requests if e["event"] == "request"] == [key]  # the header only


@needs(ISABELLE_FIXTURES.is_dir(), f"the recorded server reply streams in {ISABELLE_FIXTURES}")
def test_isabelle_full_check_refuses_exactly_as_the_static_layer(tmp_path: Path) -> None:
    refused = [case for case in CASES["isabelle"] if case["expect"] == "refused"]
    (tmp_path / "seen").mkdir()
    scenario = {"fixtures": str(ISABELLE_FIXTURES), "adapt": True, "record_dir": str(tmp_path / "seen")}
    exe = write_fake_isabelle(tmp_path / "bin", scenario)
    backend = IsabelleBackend(IsabelleConfig(executable=str(exe), root_dir=tmp_path, cancel_grace_s=1.0))
    session = backend.open_session("isabelle:Prover", tmp_path / "work", Limits(timeout_s=10))
    try:
        for case in refused:
            verdict = session.check(request(case), 10)
            assert same(verdict, backend.static_check(request(case))), case["id"]
    finally:
        session.close()
    assert "use_theories" not in (tmp_path / "seen" / "commands.jsonl").read_text()


# ---- miniF2F: every statement with a plausible proof passes ----------------------------------------


@needs(MINIF2F_LEAN.is_file(), f"the miniF2F Lean 4 statements in {MINIF2F_LEAN}")
def test_every_minif2f_lean_statement_with_a_proof_body_passes() -> None:
    rows = [json.loads(line) for line in MINIF2F_LEAN.read_text().splitlines()]
    assert len(rows) == 488
    backend = BACKENDS["lean"]
    for row in rows:
        statement = row["header"] + row["formal_statement"]
        body = row["formal_statement"].removesuffix("sorry").rstrip() + "\n  norm_num\n"
        for proof in (row["header"] + body, body):
            verdict = backend.static_check(CheckRequest(proof, statement))
            assert verdict.passed, (row["name"], verdict.messages)


@needs(MINIF2F_ISABELLE.is_file(), f"the miniF2F Isabelle statements in {MINIF2F_ISABELLE}")
def test_every_minif2f_isabelle_statement_with_a_proof_body_passes() -> None:
    rows = [json.loads(line) for line in MINIF2F_ISABELLE.read_text().splitlines()]
    assert len(rows) == 488
    backend = BACKENDS["isabelle"]
    for row in rows:
        statement = row["header"] + row["formal_statement"] + "\n  sorry\n\nend\n"
        whole = row["header"] + row["formal_statement"] + "\n  by simp\n\nend\n"
        for proof in (whole, "by simp", "using assms by auto"):
            verdict = backend.static_check(CheckRequest(proof, statement))
            assert verdict.passed, (row["name"], verdict.messages)
