"""Lean soundness rules: the text guard on exploit families, and the reply judges on real and
constructed REPL replies. A false "verified" is the worst bug this product can have."""

from __future__ import annotations

import json
from typing import Any

import pytest

from prover.itp.base import Verdict
from prover.itp.lean.check import (
    check_command,
    helper_names,
    judge_axioms,
    judge_candidate,
    judge_check,
    judge_stub,
    parse_axioms,
    stub_command,
)
from prover.itp.lean.guard import guard_proof, guard_tactic
from prover.itp.lean.protocol import CommandReply, ErrorReply, Pos, ReplMessage, parse_reply
from prover.itp.lean.statement import DEFAULT_HEADER, Header, parse_statement
from tests.conftest import DATA, needs
from tests.conftest import LEAN_REPL_FIXTURES as FIXTURES
from tests.standins.lean_repl_standin import read_fixture

MINIF2F = DATA / "minif2f-lean4" / "minif2f_lean4.jsonl"
PROOFNET = DATA / "proofnet-lean4"
needs_fixtures = needs(FIXTURES.is_dir(), f"the recorded REPL transcripts in {FIXTURES}")
HEAD = DEFAULT_HEADER.text + "\n\n"
TARGET = parse_statement(HEAD + "theorem t (x : ℕ) (h : x = 2) : x + x = 4 := by sorry")


def full_reason(verdict: Verdict) -> str:
    """``reason: detail``, the way the two fields read together."""
    return str(verdict.reason) if verdict.detail is None else f"{verdict.reason}: {verdict.detail}"


def guard(body: str, native: bool = False) -> tuple[str | None, list[str]]:
    guarded = guard_proof(HEAD + body, DEFAULT_HEADER, allow_native=native)
    return guarded.reason, [m.text for m in guarded.violations]


# ---- the text guard: one family per case ---------------------------------------------------------

CHEATS = [
    ("theorem t : False := by sorry", "incomplete", "sorry"),
    ("theorem t : False := by\n  admit", "incomplete", "sorry"),
    ("theorem t : False := by\n  stop\n  simp", "incomplete", "sorry"),
    ("axiom cheat : False\ntheorem t : False := cheat", "forbidden", "axiom"),
    ("unsafe def f : Nat := 0\ntheorem t : True := trivial", "forbidden", "unsafe"),
    ("@[implemented_by g] def f : Bool := true", "forbidden", "compiled-code override"),
    ("@[extern c_fn] opaque f : Nat → Bool", "forbidden", "compiled-code override"),
    ("opaque cheat : False", "forbidden", "unsafe code"),
    ("partial def loop (n : Nat) : Nat := loop n", "forbidden", "unsafe code"),
    ("#eval IO.println 1\ntheorem t : True := trivial", "forbidden", "#command"),
    ("theorem t : True := trivial\n#exit", "forbidden", "#command"),
    ("#print axioms t", "forbidden", "#command"),
    ("run_cmd Lean.logInfo m!1", "forbidden", "metaprogram"),
    ("theorem t : False := by\n  run_tac Lean.Elab.Tactic.evalTactic default", "forbidden", "metaprogram"),
    ('elab tk:"cheat" : tactic => pure ()', "forbidden", "metaprogram"),
    ('macro "cheat" : tactic => `(tactic| sorry)', "forbidden", "metaprogram"),
    ('syntax "cheat" : tactic', "forbidden", "metaprogram"),
    ('local notation "2" => 3', "forbidden", "metaprogram"),
    ("theorem t : False := by_elab pure default", "forbidden", "metaprogram"),
    ("simproc cheat (_) := fun _ => pure .continue", "forbidden", "metaprogram"),
    ("set_option debug.skipKernelTC true in\ntheorem t : False := h", "forbidden", "set_option"),
    ("theorem t : 1 = 1 := by\n  set_option allowUnsafeReducibility true in rfl", "forbidden", "set_option"),
    ("set_option maxHeartbeats.x 1 in\ntheorem t : 1 = 1 := rfl", "forbidden", "set_option"),
    ("theorem t : False := sorryAx False true", "forbidden", "kernel bypass"),
    ("theorem t : 2 + 2 = 4 := by native_decide", "forbidden", "native code"),
    ("theorem t : 2 + 2 = 4 := by decide +native", "forbidden", "native code"),
    ("theorem t : True := Lean.ofReduceBool _ _ rfl", "forbidden", "native code"),
    ("namespace A\nopen Nat in end A\ntheorem t : True := trivial", "forbidden", "open … in"),
    ("theorem t : True := by\n  open Nat in\n  end", "forbidden", "open … in"),
    ("  local instance : Fact (1 < 2) := ⟨by decide⟩", "forbidden", "local declaration"),
    ("noncomputable local instance i : Inhabited ℕ := ⟨0⟩", "forbidden", "local declaration"),
    ("private local instance i : Inhabited ℕ := ⟨0⟩", "forbidden", "local declaration"),
    ("scoped instance i : Inhabited ℕ := ⟨0⟩", "forbidden", "local declaration"),
    ("theorem t : (5 : BitVec 4) + 3 = 8 := by bv_decide", "forbidden", "native code"),
    ("theorem t : (5 : BitVec 4) + 3 = 8 := by\n  bv_decide?", "forbidden", "native code"),
    ("builtin_simproc cheat (_) := fun _ => pure .continue", "forbidden", "metaprogram"),
    ("theorem a : True := trivial\n  import Mathlib", "forbidden", "import"),
    ("open private foo in Nat", "forbidden", "open private"),
    ("theorem a : True := trivial\nimport Mathlib.Logic.Basic", "forbidden", "import"),
    ("variable (h : False)\ntheorem t : False := h", "forbidden", "section variable"),
    ("theorem t : True := by\n  plausible", "forbidden", "code execution"),
    ("theorem t : True := prover_target_0123 ", "forbidden", "reserved name"),
    ('theorem t : True := by\n  have := s!"{by run_tac pure ()}"\n  trivial', "forbidden", "string literal"),
    ("def «x -- » := 1\nrun_cmd pure ()", "forbidden", "string literal"),
    ("@[csimp] theorem t : @f = @g := rfl", "forbidden", "attribute csimp"),
    ("@[simp, norm_num Nat.add _ _] def ext := 0", "forbidden", "attribute norm_num"),
    ("attribute [tactic cheat] foo", "forbidden", "attribute tactic"),
    ("add_decl_doc foo\ntheorem t : True := trivial", "forbidden", "`add_decl_doc` at the start"),
    ("register_simp_attr my_simp", "forbidden", "extension command"),
    ("end\ntheorem t : True := trivial", "forbidden", "closes a scope"),
    ("namespace Foo\ntheorem t : True := trivial", "forbidden", "namespace Foo is never closed"),
    ("theorem t : Nat := type_of% 1", "forbidden", "%-elaborator"),
]


@pytest.mark.parametrize(("body", "reason", "rule"), CHEATS, ids=[c[2] + ":" + c[0][:24] for c in CHEATS])
def test_guard_rejects_exploit_families(body: str, reason: str, rule: str) -> None:
    got_reason, texts = guard(body)
    assert got_reason == reason
    assert any(rule in t for t in texts), texts


def test_guard_accepts_ordinary_proofs_and_masks_comments() -> None:
    body = (
        "/- a note: axiom, sorry and #eval in a comment are fine -/\n"
        "open Finset\n"
        "namespace Helpers\n"
        "@[simp] lemma two_eq : (2 : ℕ) = 1 + 1 := by norm_num -- not sorry\n"
        "end Helpers\n\n"
        "theorem t (x : ℕ) (h : x = 2) : x + x = 4 := by\n"
        "  subst h\n  decide\n"
    )
    guarded = guard_proof(HEAD + body, DEFAULT_HEADER)
    assert guarded.reason is None, guarded.violations
    assert [(d.kind, d.name) for d in guarded.decls] == [("lemma", "Helpers.two_eq"), ("theorem", "t")]
    assert guarded.names() == ["Helpers.two_eq", "t"]


def test_native_decide_is_allowed_only_with_the_flag() -> None:
    assert guard("theorem t : 2 + 2 = 4 := by native_decide", native=True)[0] is None
    assert guard("theorem t : (5 : BitVec 4) + 3 = 8 := by bv_decide", native=True)[0] is None


LEGITIMATE = [
    # `∑ i in` and `conv in` after a plain `open` line are not `open … in`
    "open Finset\n\ntheorem t (n : ℕ) : ∑ i in range n, (0 : ℕ) = 0 := by\n  simp",
    "open Finset in\ntheorem t (n : ℕ) : ∑ i in range n, (0 : ℕ) = 0 := by\n  simp",
    "open Real\ntheorem t (x : ℝ) : x + 0 = x := by\n  conv in x + 0 => rw [add_zero]",
    "theorem t : Real.pi > 3 := by\n  open Real in\n  exact pi_gt_three",
    "theorem t : Real.pi > 3 := open Real in pi_gt_three",
    "open scoped BigOperators in\ntheorem t : True := trivial",
    "open Nat hiding add_comm in\ntheorem t : True := trivial",
    "open Real in theorem t : True := trivial",
    # `local` inside attribute lists, in comments, inside names
    "attribute [local instance] Classical.propDecidable\ntheorem t : True := trivial",
    "@[local simp] lemma two : (2 : ℕ) = 1 + 1 := rfl\ntheorem t : True := trivial",
    "-- a local instance would help here\ntheorem t : True := trivial",
    "theorem t (localMax : ℕ) (h : localMax = 1) : localMax = 1 := h",
    "open scoped Real\ntheorem t : True := trivial",
]


@pytest.mark.parametrize("body", LEGITIMATE, ids=[b[:40] for b in LEGITIMATE])
def test_guard_accepts_legitimate_forms(body: str) -> None:
    assert guard(body) == (None, [])


def test_header_lines_are_stripped_in_place() -> None:
    proof = (
        "import Mathlib\nimport Mathlib.Tactic\nset_option maxHeartbeats 0\nopen Real\n\n"
        "theorem t : True := trivial\n"
    )
    guarded = guard_proof(proof, DEFAULT_HEADER)
    assert guarded.reason is None
    assert guarded.body.splitlines() == ["", "", "", "open Real", "", "theorem t : True := trivial"]
    assert [n.line for n in guarded.notes] == [3]  # the ignored option is reported


def test_imports_outside_the_header_are_refused() -> None:
    guarded = guard_proof("import Mathlib\nimport Evil\ntheorem t : True := trivial", DEFAULT_HEADER)
    assert guarded.reason == "forbidden" and "import Evil" in guarded.violations[0].text
    plain = Header(("Init",), ())
    assert guard_proof("import Mathlib\ntheorem t : True := trivial", plain).reason == "forbidden"


def test_violation_positions_are_in_the_candidate_text() -> None:
    guarded = guard_proof(HEAD + "theorem t : True := by\n  native_decide", DEFAULT_HEADER)
    assert (guarded.violations[0].line, guarded.violations[0].column) == (7, 2)


def test_tactic_guard() -> None:
    assert guard_tactic("run_tac pure ()") and guard_tactic("native_decide")
    assert not guard_tactic("nlinarith [sq_nonneg (x - 1)]") and not guard_tactic("sorry")
    assert guard_tactic("bv_decide") and not guard_tactic("bv_decide", allow_native=True)
    assert not guard_tactic("open Real in\n  nlinarith [pi_pos]") and not guard_tactic(
        "conv in x + 0 => simp"
    )
    assert guard_tactic("  local instance : Inhabited ℕ := ⟨0⟩")


# ---- statements -----------------------------------------------------------------------------------


def test_statement_parts_and_stub() -> None:
    assert TARGET.name == "t" and TARGET.kind == "theorem" and TARGET.header == DEFAULT_HEADER
    stub, check = helper_names(TARGET)
    assert stub_command(TARGET) == f"theorem {stub} (x : ℕ) (h : x = 2) : x + x = 4 := by sorry"
    assert check_command(TARGET) == (
        f"theorem {check} : type_of% @{stub} := @_root_.t\n#print axioms {check}"
    )
    other = parse_statement(HEAD + "theorem t (x : ℕ) (h : x = 2) : x + x = 5 := by sorry")
    assert helper_names(other) != helper_names(TARGET)


@needs(MINIF2F.is_file(), f"the miniF2F Lean 4 statements in {MINIF2F}")
def test_all_minif2f_statements_parse_under_one_header() -> None:
    rows = [json.loads(line) for line in MINIF2F.read_text().splitlines()]
    targets = [parse_statement(r["header"] + r["formal_statement"]) for r in rows]
    assert len(targets) == 488 and [t.name for t in targets] == [r["name"] for r in rows]
    assert len({t.header for t in targets}) == 1
    assert targets[0].header.text == (
        "import Mathlib\nset_option maxHeartbeats 0\nopen BigOperators Real Nat Topology Rat"
    )


@needs(PROOFNET.is_dir(), f"the ProofNet Lean 4 statements in {PROOFNET}")
def test_proofnet_data_targets_become_noncomputable_defs() -> None:
    rows = [
        json.loads(line) for line in (PROOFNET / "proofnet_lean4_deepseek.jsonl").read_text().splitlines()
    ]
    row = next(r for r in rows if r["formal_statement"].startswith("def "))
    target = parse_statement(row["header"] + row["formal_statement"])
    assert target.is_data and target.decl.endswith(":= sorry")
    assert stub_command(target).startswith(f"noncomputable def {helper_names(target)[0]} ")
    assert check_command(target).startswith("noncomputable def prover_check_")
    rahul = [
        json.loads(line) for line in (PROOFNET / "proofnet_lean4_rahul3613.jsonl").read_text().splitlines()
    ]
    inst = next(r for r in rahul if r["formal_statement"].startswith("instance "))
    target = parse_statement(inst["header"] + inst["formal_statement"])
    assert target.name == inst["name"] and "noncomputable section" in target.header.commands
    assert stub_command(target).startswith("noncomputable def prover_target_")  # never an instance


@pytest.mark.parametrize(
    "text",
    ["", "theorem : True := by sorry", "example : True := by sorry", "theorem t : True := by trivial"],
)
def test_bad_statements(text: str) -> None:
    with pytest.raises(ValueError):
        parse_statement(text)


# ---- reply judges, on recorded replies ------------------------------------------------------------


def recorded(name: str, index: int) -> Any:
    return parse_reply(json.loads(read_fixture(FIXTURES / name)[index][1]))


@needs_fixtures
@pytest.mark.parametrize(
    ("name", "index", "reason"),
    [
        ("term_sorry", 0, "incomplete"),  # sorry in term position: `sorries` and the warning
        ("tactic_sorry", 0, "incomplete"),
        ("have_by_sorry", 0, "error"),
        ("incomplete", 0, "error"),  # unsolved goals
        ("synthesize_placeholder", 0, "error"),
        ("self_proof_apply_check", 0, "error"),  # self-reference fails the termination check
        ("app_type_mismatch2", 0, "error"),  # a kernel error is an error message
        ("unknown_environment", 0, "error"),  # {"message": ...}
    ],
)
def test_recorded_replies_are_rejected(name: str, index: int, reason: str) -> None:
    verdict, _ = judge_candidate(recorded(name, index))
    assert verdict is not None and not verdict.verified
    assert verdict.reason is not None and verdict.reason.startswith(reason)


@needs_fixtures
def test_a_clean_recorded_reply_passes_the_candidate_stage() -> None:
    verdict, kept = judge_candidate(recorded("file_env", 1))
    assert verdict is None and kept == []


def info(data: str) -> ReplMessage:
    return ReplMessage("info", data, Pos(2, 0), None)


def check_reply(*messages: ReplMessage) -> CommandReply:
    return CommandReply(env=7, messages=messages)


CHECK = helper_names(TARGET)[1]


@pytest.mark.parametrize(
    ("lines", "native", "verified", "reason"),
    [
        ([f"'{CHECK}' depends on axioms: [propext, Classical.choice, Quot.sound]"], False, True, None),
        ([f"'{CHECK}' does not depend on any axioms"], False, True, None),
        ([f"'{CHECK}' depends on axioms: [propext, sorryAx]"], False, False, "axioms: sorryAx"),
        ([f"'{CHECK}' depends on axioms: [Lean.ofReduceBool]"], False, False, "axioms: Lean.ofReduceBool"),
        ([f"'{CHECK}' depends on axioms: [Lean.ofReduceBool]"], True, True, None),
        (
            [f"'{CHECK}' depends on axioms: [propext,\n Classical.choice,\n cheat]"],
            False,
            False,
            "axioms: cheat",
        ),
        (  # the last report for the name wins
            [f"'{CHECK}' depends on axioms: [propext]", f"'{CHECK}' depends on axioms: [sorryAx]"],
            False,
            False,
            "axioms: sorryAx",
        ),
        (["'t' depends on axioms: [propext]"], False, False, "error: no axiom report"),  # another name
        ([], False, False, "error: no axiom report"),
    ],
)
def test_axiom_allow_list(lines: list[str], native: bool, verified: bool, reason: str | None) -> None:
    verdict = judge_check(check_reply(*map(info, lines)), TARGET, native, [])
    assert verdict.verified == verified
    assert verdict.reason == reason or (reason and full_reason(verdict).startswith(reason))


def test_a_sorry_in_the_check_reply_is_refused() -> None:
    warning = ReplMessage("warning", "declaration uses 'sorry'", Pos(1, 0), None)
    report = info(f"'{CHECK}' depends on axioms: [propext]")
    assert full_reason(judge_check(check_reply(warning, report), TARGET, False, [])) == (
        "incomplete: sorry in the check"
    )


def test_check_errors_mean_statement_mismatch() -> None:
    error = ReplMessage(
        "error", "type mismatch\n  @t\nhas type\n  ∀ (x : ℕ), x = 2 → x + x = 5", Pos(1, 0), None
    )
    verdict = judge_check(check_reply(error), TARGET, False, [])
    assert verdict.reason == "statement_mismatch" and "type mismatch" in verdict.messages[-1].text
    assert judge_check(ErrorReply("Unknown environment."), TARGET, False, []).reason == "error"


def test_sorry_warning_in_either_quoting_and_bare_sorries() -> None:
    for text in ("declaration uses 'sorry'", "declaration uses `sorry`"):
        reply = CommandReply(env=3, messages=(ReplMessage("warning", text, Pos(1, 8), None),))
        verdict, _ = judge_candidate(reply)
        assert verdict is not None and full_reason(verdict) == "incomplete: the proof uses sorry"
    bare = parse_reply({"env": 3, "sorries": [{"goal": "⊢ False", "proofState": 0}]})
    verdict, _ = judge_candidate(bare)
    assert verdict is not None and "⊢ False" in verdict.messages[-1].text


def test_stub_errors_are_bad_statements() -> None:
    bad = parse_reply(
        {
            "env": 1,
            "messages": [
                {
                    "severity": "error",
                    "pos": {"line": 1, "column": 0},
                    "endPos": None,
                    "data": "unknown identifier 'foo'",
                }
            ],
        }
    )
    assert judge_stub(bad) is not None and judge_stub(bad).reason == "bad_statement"  # type: ignore[union-attr]
    assert judge_stub(CommandReply(env=1)) is None


def test_without_statement_every_theorem_is_checked() -> None:
    reply = check_reply(info("'a' does not depend on any axioms"), info("'b' depends on axioms: [sorryAx]"))
    assert full_reason(judge_axioms(reply, ["a", "b"], False, [])) == "axioms: sorryAx"
    assert judge_axioms(reply, ["a"], False, []).verified
    assert parse_axioms(reply.messages) == {"a": [], "b": ["sorryAx"]}
