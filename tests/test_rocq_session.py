"""A real coqidetop through the pool: verdicts, isolation between checks, limits, the sandbox."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from prover.itp.base import CheckRequest, Limits
from prover.itp.rocq.backend import RocqBackend, RocqSession
from prover.itp.rocq.preload import PRELOAD_KEY
from prover.verify.pool import VerifierPool

pytestmark = pytest.mark.rocq

STATEMENT = "Require Import Reals.\nOpen Scope R_scope.\nTheorem t (x : R) (h : 0 < x) : 0 < 2 * x.\nProof.\nAdmitted.\n"
PROOF = "Require Import Reals.\nRequire Import Lra.\nOpen Scope R_scope.\nTheorem t (x : R) (h : 0 < x) : 0 < 2 * x.\nProof.\n  lra.\nQed.\n"


def test_good_proof_verifies_with_its_axioms(rocq_pool: VerifierPool) -> None:
    verdict = rocq_pool.check(CheckRequest(PROOF, STATEMENT))
    assert verdict.verified and verdict.reason is None
    assert "Coq.Reals.ClassicalDedekindReals.sig_forall_dec" in verdict.axioms


def test_error_is_positioned_in_the_proof(rocq_pool: VerifierPool) -> None:
    verdict = rocq_pool.check(CheckRequest(PROOF.replace("lra.", "reflexivity."), STATEMENT))
    assert (verdict.verified, verdict.reason) == (False, "error")
    assert verdict.messages[-1].line == 6


def test_checks_do_not_see_each_other(rocq_pool: VerifierPool) -> None:
    first = "Definition leaked := 1.\nTheorem a : leaked = 1.\nProof. reflexivity. Qed.\n"
    second = "Theorem b : leaked = 1.\nProof. reflexivity. Qed.\n"
    assert rocq_pool.check(CheckRequest(first)).verified
    for _ in range(3):  # whichever worker takes it, the definition must be gone
        verdict = rocq_pool.check(CheckRequest(second))
        assert not verdict.verified and "leaked" in verdict.messages[-1].text


def test_weakened_statement_is_a_mismatch(rocq_pool: VerifierPool) -> None:
    weak = PROOF.replace(
        "Theorem t (x : R) (h : 0 < x) : 0 < 2 * x.", "Theorem t (x : R) (h : 0 < x) : 0 <= 2 * x."
    )
    assert rocq_pool.check(CheckRequest(weak, STATEMENT)).reason == "statement_mismatch"


def test_renamed_theorem_is_missing(rocq_pool: VerifierPool) -> None:
    assert (
        rocq_pool.check(CheckRequest(PROOF.replace("Theorem t ", "Theorem t2 "), STATEMENT)).reason
        == "incomplete"
    )


def test_bad_statement_is_reported_as_such(rocq_pool: VerifierPool) -> None:
    verdict = rocq_pool.check(CheckRequest(PROOF, STATEMENT.replace("0 < 2 * x", "0 < 2 * undefined_thing")))
    assert verdict.reason == "bad_statement"


def test_timeout_kills_and_the_next_check_still_verifies(rocq_backend: object) -> None:
    hang = PROOF.replace("Proof.\n  lra.", "Proof.\n  spin.").replace(
        "Theorem", "Ltac spin := idtac; spin.\nTheorem"
    )
    with VerifierPool(rocq_backend, workers=1, limits=Limits(timeout_s=3)) as pool:  # type: ignore[arg-type]
        started = time.monotonic()
        stuck = pool.check(CheckRequest(hang, STATEMENT))
        assert stuck.reason in ("timeout", "error")  # Ltac recursion may also end in a stack overflow
        assert time.monotonic() - started < 15
        # A fresh session's first lra proof warms the axiom cache: give it more than the hang had.
        assert pool.check(CheckRequest(PROOF, STATEMENT), timeout_s=30).verified


def test_memory_limit_stops_a_memory_bomb(rocq_backend: object) -> None:
    bomb = (
        "Definition big := List.repeat 1%nat (Nat.pow 10 8).\nEval vm_compute in (List.length big).\n" + PROOF
    )
    with VerifierPool(rocq_backend, workers=1, limits=Limits(timeout_s=30, memory_bytes=1024**3)) as pool:  # type: ignore[arg-type]
        verdict = pool.check(CheckRequest(bomb, STATEMENT))
        assert not verdict.verified and verdict.reason == "memory", verdict
        assert pool.check(CheckRequest(PROOF, STATEMENT)).verified


def test_sandbox_blocks_writes_even_without_the_guard(tmp_path: Path) -> None:
    """Drive the session directly (the guard would reject Redirect first) to test bubblewrap alone."""
    outside = Path("/tmp/prover-sandbox-test")
    outside.mkdir(exist_ok=True)
    target = outside / f"escaped-{time.monotonic_ns()}"
    session = RocqSession("", tmp_path / "scratch", Limits())
    try:
        deadline = time.monotonic() + 30
        session._exec(f'Redirect "{target}" Print nat.', deadline)
        session._exec('Redirect "inside" Print nat.', deadline)
    finally:
        session.close()
    assert not target.exists() and not Path(f"{target}.out").exists()
    assert (tmp_path / "scratch" / "inside.out").exists()  # the scratch directory is writable


def test_preloaded_base_serves_many_headers(tmp_path: Path) -> None:
    session = RocqSession(PRELOAD_KEY, tmp_path, Limits(), preload=("Coq.Reals.Reals", "Coq.ZArith.ZArith"))
    try:
        assert "Coq.ZArith.ZArith" in session.loaded
        z_statement = "Require Import ZArith.\nOpen Scope Z_scope.\nTheorem z : 2 + 2 = 4.\nProof.\nAdmitted."
        z_proof = (
            "Require Import ZArith.\nOpen Scope Z_scope.\nTheorem z : 2 + 2 = 4.\nProof. reflexivity. Qed."
        )
        assert session.check(CheckRequest(PROOF, STATEMENT), 30).verified
        assert session.check(CheckRequest(z_proof, z_statement), 30).verified
        # R_scope from the first check must not leak into the second: 2 + 2 = 4 in R needs more than reflexivity
        r_statement = z_statement.replace("ZArith", "Reals").replace("Z_scope", "R_scope")
        r_proof = z_proof.replace("ZArith", "Reals").replace("Z_scope", "R_scope")
        assert not session.check(CheckRequest(r_proof, r_statement), 30).verified
        assert session.check(CheckRequest(z_proof, z_statement), 30).verified
    finally:
        session.close()


def test_option_changing_library_gets_its_own_base(rocq_backend: object) -> None:
    """Coquelicot (through ssreflect) sets Asymmetric Patterns when merely loaded: a proof relying on
    the default must still pass after a Coquelicot check, and the Coquelicot check must pass too."""
    adversarial = Path(__file__).resolve().parent / "adversarial" / "rocq"
    coquelicot = CheckRequest(
        (adversarial / "proofs" / "good_r_amgm_nra_coquelicot.v").read_text(),
    )
    pattern = CheckRequest(
        (adversarial / "proofs" / "good_match_params_pattern.v").read_text(),
        (adversarial / "statements" / "sig_proj.v").read_text(),
    )
    with VerifierPool(rocq_backend, workers=1) as pool:  # type: ignore[arg-type]
        assert pool.check(pattern).verified
        assert pool.check(coquelicot).verified
        assert pool.check(pattern).verified
        assert pool.check(coquelicot).verified


def test_candidate_text_cannot_fake_a_resource_failure(rocq_pool: VerifierPool) -> None:
    statement = "Theorem t : 2 + 2 = 4.\nProof.\nAdmitted.\n"
    rocq_pool.check(CheckRequest("Theorem t : 2 + 2 = 4.\nProof. reflexivity. Qed.\n", statement))
    restarts = rocq_pool.stats.restarts
    for fake in ('fail "Out of memory"', 'fail "Stack overflow"', 'idtac "Out of memory"; fail'):
        proof = f"Theorem t : 2 + 2 = 4.\nProof. {fake}. Qed.\n"
        verdict = rocq_pool.check(CheckRequest(proof, statement))
        assert (verdict.verified, verdict.reason) == (False, "error")
    assert rocq_pool.stats.restarts == restarts  # and no session was thrown away for it


def test_printed_control_characters_do_not_break_the_session(rocq_pool: VerifierPool) -> None:
    proof = (
        "From Ltac2 Require Import Ltac2.\nTheorem t : 2 + 2 = 4.\nProof.\n"
        "  Message.print (Message.of_string (String.make 1 (Char.of_int 7))).\n  reflexivity.\nQed.\n"
    )
    restarts = rocq_pool.stats.restarts
    verdict = rocq_pool.check(CheckRequest(proof, "Theorem t : 2 + 2 = 4.\nProof.\nAdmitted.\n"))
    assert verdict.verified, verdict.messages
    assert rocq_pool.stats.restarts == restarts


def test_raw_control_characters_in_the_text_are_bad_input(rocq_pool: VerifierPool) -> None:
    proof = 'Theorem t : 2 + 2 = 4.\nProof. idtac "\x07". reflexivity. Qed.\n'
    verdict = rocq_pool.check(CheckRequest(proof, "Theorem t : 2 + 2 = 4.\nProof.\nAdmitted.\n"))
    assert (verdict.verified, verdict.reason) == (False, "bad_input")
    assert verdict.messages[0].line == 2


def test_native_compute_runs_without_the_native_compiler(tmp_path: Path) -> None:
    proof = "Theorem t : 2 + 2 = 4.\nProof. native_compute. reflexivity. Qed.\n"
    with VerifierPool(RocqBackend(), workers=1, workdir=tmp_path) as pool:
        assert pool.check(CheckRequest(proof)).verified
    written = [p.name for p in tmp_path.rglob("*") if p.is_file()]
    assert not [name for name in written if name.endswith((".cmxs", ".ml", ".cmx", ".o"))]


def test_the_proved_name_must_be_a_constant_the_file_declares(rocq_pool: VerifierPool) -> None:
    statement = "Theorem plus_n_O : forall n : nat, n = n + 0.\nProof.\nAdmitted.\n"
    unrelated = rocq_pool.check(CheckRequest("Theorem x : True.\nProof. exact I. Qed.\n", statement))
    assert (unrelated.verified, unrelated.reason) == (False, "statement_mismatch")
    assert "Coq.Init.Peano.plus_n_O" in (unrelated.detail or "")
    own = "Theorem plus_n_O : forall n : nat, n = n + 0.\nProof. induction n; simpl; auto. Qed.\n"
    assert rocq_pool.check(CheckRequest(own, statement)).verified


def test_trusted_assumptions_are_matched_by_kernel_path(rocq_pool: VerifierPool) -> None:
    statement = (
        "Module M.\n  Axiom f_spec : 1 = 2.\nEnd M.\nTheorem t : 1 = 2.\nProof.\nAdmitted.\n"
    )
    uses_trusted = "Theorem t : 1 = 2.\nProof. exact M.f_spec. Qed.\n"
    verdict = rocq_pool.check(CheckRequest(uses_trusted, statement))
    assert verdict.verified and verdict.axioms == ["Top.M.f_spec"]
    # (A sentence repeating a trusted one verbatim is taken as that repeat, hence the different type.)
    own_axiom = "Axiom f_spec : 1 = 2 /\\ True.\nTheorem t : 1 = 2.\nProof. exact (proj1 f_spec). Qed.\n"
    verdict = rocq_pool.check(CheckRequest(own_axiom, statement))
    assert (verdict.verified, verdict.reason) == (False, "axioms")
    assert "Top.f_spec" in (verdict.detail or "")
