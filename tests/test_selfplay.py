"""The self-play loop: the selection rules, and a whole (small) run of `prover selfplay` that is
killed with SIGKILL in the middle of a round and resumed — a real Coq pool, a real SQLite store, the
small model this project makes, real training."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from prover.selfplay.conjecturing import lemmas_of, pick_seeds
from prover.selfplay.select import Scored, dropped, select, uses_lemma, weight
from prover.store import ProblemRow

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "data" / "rocq-seeds" / "problems.jsonl"


def _scored(i: int, verified: int, total: int = 8, proof: str | None = "Proof. lia. Qed.",
            lemma: str | None = "lia", statement: str = "Theorem t : True.") -> Scored:
    return Scored(i, statement, lemma, verified, total, proof)


def test_select_keeps_barely_provable_conjectures_that_use_the_lemma() -> None:
    scored = [
        _scored(1, 0),  # never proved by the model: not "barely provable"
        _scored(2, 1),  # 1/8: kept
        _scored(3, 2, proof=None),  # no proof on record
        _scored(4, 2, lemma="Nat.add_comm"),  # its proof does not use the seed's lemma
        _scored(5, 3),  # 3/8 = 0.375: too easy
        _scored(6, 8),
        _scored(7, 2),  # 2/8 = 0.25: the bound is inclusive
        _scored(8, 1, total=4),  # 1/4 = 0.25 too
    ]
    assert [s.conjecture_id for s in select(scored, 0.0, 0.25, 0.0)] == [2, 7, 8]


def test_a_lemma_is_used_only_as_a_whole_name_outside_comments() -> None:
    assert uses_lemma("Theorem t : True.\nProof.\n  lia.\nQed.", "lia")
    assert uses_lemma("Proof.\n  rewrite Nat.add_comm; lia.\nQed.", "Nat.add_comm")
    # The model's own comments name the automation: that is no use of it.
    assert not uses_lemma("Proof.\n  (* Conclude by linear integer arithmetic (lia). *)\n  nia.\nQed.", "lia")
    assert not uses_lemma("Proof.\n  rewrite Nat.add_comm_l.\n  Rlia.\nQed.", "Nat.add_comm")
    assert not uses_lemma("Proof.\n  rewrite Nat.add_comm_l.\n  Rlia.\nQed.", "lia")
    assert not uses_lemma('Proof.\n  idtac "lia". nia.\nQed.', "lia")


def test_select_drops_the_lowest_proof_to_statement_ratio() -> None:
    long_statement = "Theorem t (a b c d e f : nat) (h : a + b + c + d + e + f = 0) : a = 0."
    scored = [_scored(i, 1) for i in range(1, 5)] + [_scored(9, 1, statement=long_statement)]
    kept = [s.conjecture_id for s in select(scored, 0.0, 0.25, 0.2)]
    assert kept == [1, 2, 3, 4]  # one of five dropped: the long statement with the short proof


def test_the_ratio_filter_runs_on_small_batches_but_never_drops_the_last() -> None:
    long_statement = "Theorem t (a b c d e f : nat) (h : a + b + c + d + e + f = 0) : a = 0."
    pair = [_scored(1, 1), _scored(2, 1, statement=long_statement)]
    assert [s.conjecture_id for s in select(pair, 0.0, 0.25, 0.2)] == [1]
    assert [s.conjecture_id for s in select(pair[1:], 0.0, 0.25, 0.2)] == [2]
    assert [s.conjecture_id for s in select(pair, 0.0, 0.25, 0.0)] == [1, 2]  # 0: the filter is off
    assert [dropped(n, 0.2) for n in (0, 1, 2, 4, 7, 8, 10, 40)] == [0, 0, 1, 1, 1, 2, 2, 8]


def test_weights_lean_towards_what_the_model_did_not_prove() -> None:
    assert weight(0.0, False, 2.0) == 2.0
    assert weight(1.0, True, 2.0) == 1.0
    assert 1.0 < weight(0.25, True, 2.0) < 2.0


def test_lemmas_are_named_facts_else_the_closing_automation() -> None:
    assert lemmas_of("Proof.\n  intros n.\n  rewrite Nat.add_comm.\n  apply H.\n  lia.\nQed.") == ["Nat.add_comm"]
    assert lemmas_of("Proof.\n  intros.\n  nia.\nQed.") == ["nia"]


def test_no_lemma_takes_more_than_its_share_of_the_batch() -> None:
    problem = ProblemRow(name="p", statement="s", source="x", split="train", language="rocq", id=1)
    candidates = [(problem, "Proof. lia. Qed.", 1.0, True)] * 30 + [(problem, "Proof. nia. Qed.", 1.0, True)] * 5
    seeds = pick_seeds(candidates, batch=20, cap=0.1, threshold=0.35, rng=random.Random(0))
    lemmas = [s.lemma for s in seeds]
    assert lemmas.count("lia") == 2 and lemmas.count("nia") == 2  # ceil(0.1 * 20) each
    low = [(problem, "Proof. lia. Qed.", 0.2, True)]  # proved by the model, but rarely: not a seed
    assert pick_seeds(low, 20, 0.1, 0.35, random.Random(0)) == []
    teacher_only = [(problem, "Proof. lia. Qed.", 0.0, False)]
    assert len(pick_seeds(teacher_only, 20, 0.1, 0.35, random.Random(0))) == 1


def test_the_tokenizer_learns_no_held_out_text() -> None:
    from prover.cli.selfplay import read_seeds, tokenizer_corpus
    from prover.config import Settings

    seeds = read_seeds(SEEDS)
    corpus = "\n".join(tokenizer_corpus(Settings(), seeds))
    heldout = [r for r in seeds if r.split == "heldout"]
    shared = {r.informal for r in seeds if r.split == "train"}  # seed_036 restates seed_031's text
    assert len(heldout) == 22
    for row in heldout:
        declaration = next(line for line in row.statement.splitlines() if line.startswith("Theorem"))
        assert row.name not in corpus and declaration not in corpus, row.name
        assert row.informal and (row.informal in shared or row.informal not in corpus), row.name
    assert all(r.statement in corpus for r in seeds if r.split == "train")


def test_settings_that_change_results_are_compared_on_resume() -> None:
    from prover.config import Settings
    from prover.selfplay.loop import run_settings, settings_changes

    before, after = Settings(), Settings()
    after.selfplay.rounds, after.selfplay.workdir, after.pool.workers = 5, "elsewhere", 7  # how long, where, how fast
    after.generate.threads = 3
    assert settings_changes(run_settings(before), run_settings(after)) == []
    after.selfplay.k, after.generate.templates = 8, "completion"
    assert settings_changes(run_settings(before), run_settings(after)) == [
        "generate.templates: 'default' -> 'completion'", "selfplay.k: 4 -> 8"]
    legacy = dataclasses.asdict(before.selfplay)  # a store from before whole settings were kept
    assert settings_changes(legacy, run_settings(after)) == ["selfplay.k: 4 -> 8"]


def test_resume_with_other_settings_is_refused_in_one_line(tmp_path: Path) -> None:
    from prover.config import Settings
    from prover.selfplay.loop import run_settings
    from prover.store import Store

    _small_seed_set(tmp_path / "seeds.jsonl")
    started = Settings()
    started.selfplay.seeds = "seeds.jsonl"
    with Store(tmp_path / "run" / "selfplay.sqlite") as store:
        store.start_round(1, run_settings(started))
    done = subprocess.run([sys.executable, "-m", "prover", "selfplay", "--workdir", "run", "--seeds", "seeds.jsonl",
                           "--resume", "-k", "8", "--rounds", "3"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "other settings" in done.stderr and "selfplay.k: 4 -> 8" in done.stderr and "rounds" not in done.stderr
    assert not (tmp_path / "run" / "model-init").exists()  # refused before anything was made


# -- a whole run -----------------------------------------------------------------------------------

CONFIG = """\
[pool]
workers = 2
timeout_s = 30

[generate]
threads = 1

[selfplay]
seeds = "seeds.jsonl"
workdir = "run"
rounds = 1
k = 2
conjecture_k = 4
heldout_k = 2
conjectures_per_round = 6
mutations_per_seed = 2
train_steps = 24
init_dim = 32
init_heads = 2
"""


def _small_seed_set(path: Path) -> None:
    """Two training problems and one held-out problem of each of five families."""
    rows = [json.loads(line) for line in SEEDS.read_text().splitlines()]
    families: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        families.setdefault(row["family"], []).append(row)
    chosen = [r for group in list(families.values())[:5] for r in (group[0], group[1], group[4])]
    path.write_text("".join(json.dumps(r) + "\n" for r in chosen))


def _query(db: Path, sql: str) -> list[tuple[object, ...]]:
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return list(conn.execute(sql))
    except sqlite3.OperationalError:  # the schema is not there yet
        return []
    finally:
        conn.close()


def _selfplay(cwd: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "prover", "selfplay", "--quiet", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


@pytest.mark.rocq
@pytest.mark.slow
def test_a_run_killed_mid_round_resumes_without_losing_or_duplicating(tmp_path: Path) -> None:
    from datasets import load_from_disk

    from prover.itp.base import CheckRequest, Limits
    from prover.itp.rocq.backend import RocqBackend
    from prover.verify.pool import VerifierPool

    _small_seed_set(tmp_path / "seeds.jsonl")
    (tmp_path / "prover.toml").write_text(CONFIG)
    db = tmp_path / "run" / "selfplay.sqlite"
    first = _selfplay(tmp_path)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and first.poll() is None:
        if len(_query(db, "SELECT id FROM proofs")) >= 3:
            break
        time.sleep(0.2)
    assert first.poll() is None, first.communicate()[1][-2000:]
    os.killpg(first.pid, signal.SIGKILL)  # the whole process tree, as a crash would end it
    first.wait()
    before = set(_query(db, "SELECT problem_id, text_hash FROM proofs"))
    assert len(before) >= 3

    again = _selfplay(tmp_path)
    assert again.wait(timeout=900) == 2  # a run is there: it is not silently started over
    assert "--resume" in again.communicate()[1]
    resumed = _selfplay(tmp_path, "--resume")
    out, err = resumed.communicate(timeout=1200)
    assert resumed.returncode == 0, err[-3000:]
    assert "held-out" in out  # the per-round table

    # The store never deletes, so rows cannot go missing; what must hold is that the resumed round
    # counts them: every target proved before the kill is proved in the round's stored rates, and
    # those rates are what the round's attempts say, read back or not.
    from prover.selfplay.proving import rate_of
    from prover.store import Store

    with Store(db, readonly=True) as store:
        payload = store.stage_payload(1, "targets")
        assert payload is not None
        rates = payload["rates"]
        assert len(rates) == 10 and all(
            rate == list(dataclasses.astuple(rate_of(store.attempts(round=1, problem_id=int(pid), role="prover"), 2)))
            for pid, rate in rates.items())
    assert {str(pid) for pid, _ in before} <= {pid for pid, rate in rates.items() if rate[2]}
    # Every training target was tried exactly once with k model samples (not again after the resume).
    per_target = _query(db, "SELECT a.problem_id, COUNT(*) FROM attempts a JOIN problems p ON p.id = a.problem_id "
                            "WHERE p.split = 'train' AND a.kind = 'prover' GROUP BY a.problem_id")
    assert len(per_target) == 10 and {n for _, n in per_target} == {2}
    assert _query(db, "SELECT status FROM rounds") == [("done",)]

    # Every proof row re-verifies against its problem's trusted statement, in a fresh pool.
    rows = _query(db, "SELECT p.statement, f.text, p.split FROM proofs f JOIN problems p ON p.id = f.problem_id")
    assert rows and all(split != "heldout" for _, _, split in rows)
    with VerifierPool(RocqBackend(), workers=2, limits=Limits(timeout_s=60)) as pool:
        verdicts = list(pool.map(CheckRequest(text, statement) for statement, text, _ in rows))
    assert all(v.verified for v in verdicts), [v.detail for v in verdicts if not v.verified]

    # The exported dataset loads, carries natural-language comments, and holds no held-out problem.
    dataset = load_from_disk(str(tmp_path / "run" / "dataset-r1" / "dataset"))
    heldout = {json.loads(line)["name"] for line in (tmp_path / "seeds.jsonl").read_text().splitlines()
               if json.loads(line)["split"] == "heldout"}
    assert len(dataset) >= 5 and any(r["nl"] and "(*" in r["proof"] for r in dataset)
    assert not heldout & set(dataset["problem"])
    metrics = json.loads((tmp_path / "run" / "rounds.json").read_text())
    assert metrics[0]["heldout_before"]["total"] == 5 and (tmp_path / "run" / "rounds.png").stat().st_size > 0


@pytest.mark.parametrize(
    ("args", "seeds", "message"),
    [
        (["--rounds", "0"], None, "rounds must be at least 1"),
        (["--seeds", "missing.jsonl"], None, "cannot read the seed problems"),
        ([], '{"name": "a", "split": "train", "statement": "Theorem a : True.\\nProof.\\nAdmitted.\\n"}\n',
         "needs problems in both splits"),
        ([], "not json\n", "seeds.jsonl:1: not a seed problem"),
        (["--workers", "0"], None, "--workers must be at least 1"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path: Path, args: list[str], seeds: str | None,
                                                  message: str) -> None:
    if seeds is not None:
        (tmp_path / "seeds.jsonl").write_text(seeds)
        args = [*args, "--seeds", "seeds.jsonl"]
    done = subprocess.run([sys.executable, "-m", "prover", "selfplay", "--workdir", "run", *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not (tmp_path / "run").exists()
