"""The self-play store (prover/store/): schema, idempotent writes, proofs only from verified verdicts,
all-or-nothing batches (also under kill -9), round/stage bookkeeping, stats and ``prover store stats``.
No proof assistant needed: verdicts are built by hand."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from prover.cli.store import main as store_main
from prover.itp.base import CheckRequest, Reason, Verdict
from prover.store import AttemptRow, ConjectureRow, CorrectionRow, ProblemRow, Store, format_stats
from prover.store.schema import TABLE_NAMES

STATEMENT = "Theorem add_0 : forall n : nat, n + 0 = n.\nAdmitted.\n"
PROOF = "Theorem add_0 : forall n : nat, n + 0 = n.\nProof. intros n. lia. Qed.\n"
OTHER = "Theorem mul_1 : forall n : nat, n * 1 = n.\nAdmitted.\n"

fork = multiprocessing.get_context("fork")


def problem(name: str = "add_0", statement: str = STATEMENT, **kw: object) -> ProblemRow:
    fields: dict[str, object] = {"source": "rocq-seeds", "split": "train", "language": "rocq"} | kw
    return ProblemRow(name=name, statement=statement, **fields)  # type: ignore[arg-type]


def attempt(problem_id: int, sample: int, verified: bool = False, **kw: object) -> AttemptRow:
    fields: dict[str, object] = {
        "round": 1, "role": "prover", "engine": "model", "kind": "prover", "text": f"proof {sample}",
        "reason": None if verified else "error", "errors": [] if verified else [{"line": 2, "text": "no"}],
    } | kw
    return AttemptRow(problem_id=problem_id, sample=sample, verified=verified, **fields)  # type: ignore[arg-type]


def count(path: Path, table: str) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "run" / "selfplay.sqlite"


@pytest.fixture
def store(path: Path) -> Iterator[Store]:
    with Store(path) as s:
        yield s


# -- schema ---------------------------------------------------------------------------------------


def test_schema_is_created_in_wal_mode_and_reopening_keeps_the_data(path: Path) -> None:
    with Store(path) as store:
        pid = store.add_problem(name="add_0", statement=STATEMENT, source="rocq-seeds", split="train",
                                language="rocq")
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert set(TABLE_NAMES) <= tables
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        uniques = {r[1] for r in conn.execute("PRAGMA index_list(attempts)") if r[2]}
        assert "attempts_unique_round_role_problem_id_engine_sample" in uniques
    with Store(path) as store:  # opening again creates nothing twice and loses nothing
        assert [p.id for p in store.problems()] == [pid]


def test_foreign_keys_are_enforced(store: Store, path: Path) -> None:
    with pytest.raises(ValueError, match="FOREIGN KEY"):
        store.add_attempts([attempt(problem_id=42, sample=0)])
    assert count(path, "attempts") == 0


def test_a_store_of_a_newer_schema_is_refused(path: Path) -> None:
    Store(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(ValueError, match="newer prover"):
        Store(path)


def test_a_file_that_is_not_sqlite_is_refused_in_one_line(tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("these are not the pages of a database\n" * 100)
    with pytest.raises(ValueError, match="not an SQLite file") as info:
        Store(junk)
    assert "\n" not in str(info.value)


# -- idempotent writes ------------------------------------------------------------------------------


def test_adding_a_problem_twice_returns_the_same_row(store: Store, path: Path) -> None:
    first = store.add_problem(name="add_0", statement=STATEMENT, source="rocq-seeds", split="train",
                              language="rocq")
    again = store.add_problems([problem(), problem(name="renamed")])
    lean = store.add_problem(name="add_0", statement=STATEMENT, source="lean-seeds", split="heldout",
                             language="lean")
    assert again == [first, first]
    assert lean != first  # the same text in another language is another problem
    assert count(path, "problems") == 2
    row = store.problem(first)
    assert (row.name, row.split, row.depth, row.parent_id) == ("add_0", "train", 0, None)
    assert [p.id for p in store.problems(split="heldout")] == [lean]
    assert [p.id for p in store.problems(language="rocq", source="rocq-seeds")] == [first]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"split": "valid"}, "split must be one of"),
        ({"language": "coq"}, "language must be one of"),
        ({"statement": "  "}, "statement"),
        ({"depth": -1}, "depth"),
    ],
)
def test_bad_problem_fields_are_refused(store: Store, path: Path, fields: dict[str, object],
                                        message: str) -> None:
    with pytest.raises(ValueError, match=message):
        store.add_problems([problem(**fields)])  # type: ignore[arg-type]
    assert count(path, "problems") == 0


def test_recording_attempts_again_changes_nothing(store: Store, path: Path) -> None:
    pid = store.add_problem(name="add_0", statement=STATEMENT, source="rocq-seeds", split="train",
                            language="rocq")
    batch = [attempt(pid, 0, verified=True), attempt(pid, 1)]
    ids = store.add_attempts(batch)
    assert store.add_attempts(batch) == ids
    assert count(path, "attempts") == 2
    failed = store.attempts(problem_id=pid)[1]
    assert failed.errors == [{"line": 2, "text": "no"}] and failed.reason == "error" and not failed.verified
    revision = store.add_attempts([attempt(pid, 0, role="corrector", kind="corrector", revision_of=ids[1])])
    fix = CorrectionRow(attempt_id=ids[1], revision_id=revision[0], method="model", detail={"turn": 1})
    assert store.add_corrections([fix]) == store.add_corrections([fix])
    assert [c.detail for c in store.corrections(attempt_id=ids[1])] == [{"turn": 1}]
    assert [a.id for a in store.attempts(role="corrector")] == revision


def test_a_verified_attempt_cannot_carry_a_failure_reason(store: Store) -> None:
    pid = store.add_problem(name="add_0", statement=STATEMENT, source="rocq-seeds", split="train",
                            language="rocq")
    with pytest.raises(ValueError, match="verified attempt has no reason"):
        store.add_attempts([attempt(pid, 0, verified=True, reason="timeout")])


# -- proofs ---------------------------------------------------------------------------------------


def test_a_verified_verdict_files_a_proof_once(store: Store, path: Path) -> None:
    pid = store.add_problem(name="add_0", statement=STATEMENT, source="rocq-seeds", split="train",
                            language="rocq")
    [aid] = store.add_attempts([attempt(pid, 0, verified=True)])
    request = CheckRequest(proof=PROOF, statement=STATEMENT)
    verdict = Verdict(True, None, time_s=0.25, axioms=["Classical_Prop.classic"])
    first = store.add_proof(pid, request, verdict, "rocq", "coq 8.16.1", round=1, attempt_id=aid,
                            technique="lia")
    assert store.add_proof(pid, request, verdict, "rocq", "coq 8.16.1", round=1) == first
    assert count(path, "proofs") == 1
    [proof] = store.proofs(problem_id=pid)
    assert (proof.text, proof.axioms, proof.attempt_id, proof.verify_time_s) == (
        PROOF, ["Classical_Prop.classic"], aid, 0.25)


@pytest.mark.parametrize(
    ("request_", "verdict", "backend", "message"),
    [
        (CheckRequest(PROOF, STATEMENT), Verdict(False, Reason.ERROR), "rocq", "only a verified verdict"),
        (CheckRequest(PROOF, STATEMENT), Verdict(False, Reason.TIMEOUT), "rocq", "only a verified verdict"),
        (CheckRequest(PROOF, STATEMENT), Verdict(False, None), "rocq", "only a verified verdict"),
        (CheckRequest(PROOF, OTHER), Verdict(True, None), "rocq", "another statement"),
        (CheckRequest(PROOF, None), Verdict(True, None), "rocq", "without the trusted statement"),
        (CheckRequest(PROOF, STATEMENT), Verdict(True, None), "lean", "is rocq, not lean"),
        (CheckRequest("", STATEMENT), Verdict(True, None), "rocq", "no proof text"),
    ],
)
def test_only_a_verified_verdict_for_the_problems_own_statement_files_a_proof(
    store: Store, path: Path, request_: CheckRequest, verdict: Verdict, backend: str, message: str
) -> None:
    pid = store.add_problem(name="add_0", statement=STATEMENT, source="rocq-seeds", split="train",
                            language="rocq")
    store.add_problem(name="mul_1", statement=OTHER, source="rocq-seeds", split="train", language="rocq")
    with pytest.raises(ValueError, match=message):
        store.add_proof(pid, request_, verdict, backend, "coq 8.16.1", round=1)
    assert count(path, "proofs") == 0


def test_a_proof_cannot_be_filed_under_another_problems_attempt(store: Store, path: Path) -> None:
    pid, other = store.add_problems([problem(), problem("mul_1", OTHER)])
    [aid] = store.add_attempts([attempt(other, 0, verified=True)])
    with pytest.raises(ValueError, match="no attempt at problem"):
        store.add_proof(pid, CheckRequest(PROOF, STATEMENT), Verdict(True, None), "rocq", "coq", 1, aid)
    with pytest.raises(ValueError, match="no problem 99"):
        store.add_proof(99, CheckRequest(PROOF, STATEMENT), Verdict(True, None), "rocq", "coq", 1)
    assert count(path, "proofs") == 0


def test_the_public_api_holds_no_raw_connection(store: Store) -> None:
    from sqlite_utils import Database

    public = [getattr(store, name) for name in dir(store) if not name.startswith("_")]
    assert not [v for v in public if isinstance(v, sqlite3.Connection | Database)]


def test_proved_problem_ids_by_round(store: Store) -> None:
    pid, other = store.add_problems([problem(), problem("mul_1", OTHER)])
    other_proof = "Theorem mul_1 : forall n : nat, n * 1 = n.\nProof. lia. Qed.\n"
    store.add_proof(pid, CheckRequest(PROOF, STATEMENT), Verdict(True, None), "rocq", "coq", 1)
    store.add_proof(other, CheckRequest(other_proof, OTHER), Verdict(True, None), "rocq", "coq", 3)
    assert store.proved_problem_ids() == {pid, other}
    assert store.proved_problem_ids(up_to_round=2) == {pid}
    assert store.proved_problem_ids(up_to_round=0) == set()
    assert [p.problem_id for p in store.proofs(round=3)] == [other]


# -- all or nothing -------------------------------------------------------------------------------


def test_a_batch_that_fails_midway_leaves_nothing(store: Store, path: Path) -> None:
    pid = store.add_problem(name="add_0", statement=STATEMENT, source="rocq-seeds", split="train",
                            language="rocq")
    with pytest.raises(ValueError):
        store.add_attempts([attempt(pid, 0), attempt(pid, 1), attempt(problem_id=777, sample=2)])
    assert count(path, "attempts") == 0
    with pytest.raises(ValueError, match="no problem 555"):
        store.add_conjectures([
            ConjectureRow(seed_id=pid, statement=OTHER, generator="model", round=1),
            ConjectureRow(seed_id=555, statement=OTHER + " ", generator="model", round=1),
        ])
    assert count(path, "conjectures") == 0 and count(path, "problems") == 1
    with pytest.raises(RuntimeError), store.transaction():  # the loop's own grouping of writes
        store.add_problems([problem("mul_1", OTHER)])
        store.add_attempts([attempt(pid, 0)])
        raise RuntimeError("the loop died here")
    assert count(path, "problems") == 1 and count(path, "attempts") == 0


def _die_mid_batch(path: Path) -> None:
    store = Store(path)
    with store.transaction():
        store.add_problems([problem(f"p{i}", f"Theorem p{i} : True.\nAdmitted.\n") for i in range(50)])
        os.kill(os.getpid(), signal.SIGKILL)


def test_kill_9_mid_batch_leaves_nothing_and_the_store_opens(path: Path) -> None:
    Store(path).close()
    child = fork.Process(target=_die_mid_batch, args=(path,))
    child.start()
    child.join(30)
    assert child.exitcode == -signal.SIGKILL
    with Store(path) as store:
        assert store.problems() == []
        assert store.add_problems([problem()]) == [1]


def _write_attempts(path: Path, worker: int, barrier: object) -> None:
    with Store(path) as store:
        pid = store.problems()[0].id
        assert pid is not None
        barrier.wait()  # type: ignore[attr-defined]
        for batch in range(20):
            store.add_attempts([attempt(pid, worker * 1000 + batch * 5 + i) for i in range(5)])
            store.pass_rates(1)  # readers in between the writes


def test_two_processes_write_attempts_to_one_file_at_once(path: Path) -> None:
    with Store(path) as store:
        store.add_problems([problem()])
    barrier = fork.Barrier(2)
    workers = [fork.Process(target=_write_attempts, args=(path, w, barrier)) for w in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert [w.exitcode for w in workers] == [0, 0]
    assert count(path, "attempts") == 200


# -- conjectures, pass rates, rounds ----------------------------------------------------------------


def test_conjectures_get_problem_rows_and_filter_results(store: Store) -> None:
    seed = store.add_problem(name="add_0", statement=STATEMENT, source="rocq-seeds", split="train",
                             language="rocq", header="Require Import Lia.\n")
    batch = [
        ConjectureRow(seed_id=seed, statement=OTHER, generator="model", round=1, lemma="mul_1"),
        ConjectureRow(seed_id=seed, statement=STATEMENT, generator="symbolic", round=1, kind="rename"),
    ]
    ids = store.add_conjectures(batch)
    assert store.add_conjectures(batch) == ids
    new, rediscovered = store.conjectures(round=1)
    made = store.problem(new.problem_id or 0)
    assert (made.split, made.source, made.depth, made.parent_id, made.header) == (
        "conjecture", "conjecture", 1, seed, "Require Import Lia.\n")
    assert rediscovered.problem_id == seed  # the seed's own statement: no second problem row
    store.set_conjecture_filter([(ids[0], True, None), (ids[1], False, "duplicate")])
    assert [c.id for c in store.conjectures(kept=True)] == [ids[0]]
    assert [c.filter_reason for c in store.conjectures(kept=False)] == ["duplicate"]
    with pytest.raises(ValueError, match="give the reason"):
        store.set_conjecture_filter([(ids[0], False, None)])
    with pytest.raises(ValueError, match="no conjecture 9"):
        store.set_conjecture_filter([(ids[0], True, None), (9, True, None)])
    with pytest.raises(ValueError, match="generator"):
        store.add_conjectures([ConjectureRow(seed_id=seed, statement=OTHER, generator="llm", round=1)])


def test_pass_rates_count_the_rounds_prover_attempts(store: Store) -> None:
    pid, other = store.add_problems([problem(), problem("mul_1", OTHER)])
    store.add_attempts([
        attempt(pid, 0, verified=True), attempt(pid, 1), attempt(pid, 2, verified=True),
        attempt(other, 0),
        attempt(pid, 0, role="corrector", kind="corrector", verified=True),  # not a prover attempt
        attempt(pid, 9, round=2, verified=True),  # another round
    ])
    assert store.pass_rates(1) == {pid: (2, 3), other: (0, 1)}
    assert store.pass_rates(2) == {pid: (1, 1)}
    assert store.pass_rates(5) == {}


def test_stage_bookkeeping_survives_reopening(path: Path) -> None:
    with Store(path) as store:
        with pytest.raises(ValueError, match="round 1 was not started"):
            store.finish_stage(1, "conjecture", {})
        store.start_round(1, {"k": 8, "model": "m"})
        store.finish_stage(1, "conjecture", {"kept": [3, 5]})
        assert not store.stage_done(1, "prove")
    with Store(path) as store:
        assert store.stage_done(1, "conjecture") and store.stage_payload(1, "conjecture") == {"kept": [3, 5]}
        assert store.stage_payload(1, "prove") is None
        again = store.start_round(1, {"k": 16})  # a resumed run sees the round as it was started
        assert again.config == {"k": 8, "model": "m"} and again.status == "running"
        assert again.stage == "conjecture"
        store.finish_round(1, {"proved": 4}, "ckpt/round1")
        store.start_round(2, {"k": 8})
    with Store(path) as store:
        first, last = store.rounds()
        assert (first.status, first.metrics, first.checkpoint) == ("done", {"proved": 4}, "ckpt/round1")
        assert first.ended_at is not None
        assert store.last_round() == last and last.number == 2 and last.status == "running"
        with pytest.raises(ValueError, match="round 3 was not started"):
            store.finish_round(3, {})


# -- stats and the command --------------------------------------------------------------------------


def _filled(path: Path) -> None:
    with Store(path) as store:
        pid, other = store.add_problems([problem(), problem("mul_1", OTHER, split="heldout")])
        store.start_round(1, {})
        store.add_attempts([attempt(pid, 0, verified=True), attempt(pid, 1), attempt(other, 0)])
        store.add_proof(pid, CheckRequest(PROOF, STATEMENT), Verdict(True, None), "rocq", "coq", 1)
        [cid] = store.add_conjectures([ConjectureRow(seed_id=pid, statement="Lemma c : True.\nAdmitted.\n",
                                                     generator="symbolic", round=1)])
        store.set_conjecture_filter([(cid, False, "trivial")])
        store.finish_stage(1, "prove", {})


def test_stats_count_per_split_and_round(path: Path) -> None:
    _filled(path)
    with Store(path) as store:
        stats = store.stats()
    assert stats["tables"]["problems"] == 3 and stats["tables"]["proofs"] == 1
    assert stats["problems"]["by_split"] == {
        "conjecture": {"total": 1, "proved": 0}, "heldout": {"total": 1, "proved": 0},
        "train": {"total": 1, "proved": 1},
    }
    assert stats["conjectures"] == {"total": 1, "kept": 0, "rejected": 1, "unfiltered": 0,
                                    "by_reason": {"trivial": 1}}
    [round1] = stats["rounds"]
    assert round1["attempts"] == {"prover": {"verified": 1, "total": 3}}
    assert (round1["stage"], round1["proofs"], round1["conjectures"], round1["kept"]) == ("prove", 1, 1, 0)
    text = format_stats(stats)
    assert "train" in text and "rejected as trivial 1" in text
    assert any(line.split()[:3] == ["1", "running", "prove"] for line in text.splitlines())


def test_store_stats_command(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _filled(path)
    assert store_main(["stats", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["tables"]["attempts"] == 3
    assert store_main(["stats", str(path)]) == 0
    assert "proved" in capsys.readouterr().out


def test_store_stats_on_bad_files_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "eval.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE samples (x)")
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00garbage" * 512)
    cases = [(tmp_path / "missing.sqlite", "no such file"), (junk, "not an SQLite file"),
             (other, "not a self-play store"), (tmp_path, "not a file")]
    for bad, message in cases:
        assert store_main(["stats", str(bad)]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
    assert not (tmp_path / "missing.sqlite").exists()  # read-only: nothing created
    with sqlite3.connect(other) as conn:  # nor a store's tables added to someone else's file
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["samples"]


def test_store_proofs_prints_a_batch_for_prover_check(store: Store, path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    pid = store.add_problems([problem()])[0]
    proof = STATEMENT.replace("Admitted.", "Qed.")
    store.add_proof(pid, CheckRequest(proof, STATEMENT), Verdict(True, None), "rocq", "coq-8.16", 1)
    assert store_main(["proofs", str(path)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines == [{"id": lines[0]["id"], "problem": "add_0", "round": 1, "statement_text": STATEMENT,
                      "proof_text": proof}]
