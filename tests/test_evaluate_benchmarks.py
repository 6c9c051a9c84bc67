"""The benchmark registry: every local copy loads with the right counts and categories, statements
are what the backends' statement parsers take, the hub path maps columns, bad names are one line."""

from __future__ import annotations

import json
import sys
import types
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from prover.evaluate.benchmarks import REGISTRY, category, load_problems, proofnet_book
from tests.conftest import DATA, needs

COUNTS = {
    "minif2f-rocq": (244, 244),
    "minif2f-lean4": (244, 244),
    "minif2f-isabelle": (244, 244),
    "proofnet-lean4": (185, 186),
    "proofnet-lean4-rahul3613": (185, 186),  # 3 rows outside the ProofNet split belong to neither
}
needs_data = needs(all((DATA / d).is_dir() for d in ("minif2f-rocq", "minif2f-lean4", "minif2f-isabelle",
                                                    "proofnet-lean4")), "the benchmark copies in data/")


@needs_data
@pytest.mark.parametrize("name", list(COUNTS))
def test_local_copies_load_with_their_counts(name: str) -> None:
    valid, test = (load_problems(name, split) for split in ("valid", "test"))
    assert (len(valid), len(test)) == COUNTS[name]
    for split, problems in (("valid", valid), ("test", test)):
        assert len({p.key for p in problems}) == len(problems)
        assert all(p.split == split and p.backend == REGISTRY[name].backend for p in problems)
        assert all(p.statement and p.category for p in problems)
    if name.startswith("minif2f"):
        cats = Counter(p.category for p in valid)
        assert cats == {"mathd_algebra": 70, "mathd_numbertheory": 60, "amc12": 45, "imo": 20, "algebra": 18,
                        "aime": 15, "induction": 8, "numbertheory": 8}


@needs_data
def test_statements_are_what_prover_check_takes() -> None:
    from prover.itp.isabelle.theory import parse_target
    from prover.itp.lean.statement import parse_statement as parse_lean
    from prover.itp.rocq.text import parse_statement as parse_rocq

    rocq = load_problems("minif2f-rocq", "valid")
    assert all(p.statement == (DATA / "minif2f-rocq" / "valid" / f"{p.name}.v").read_text() for p in rocq)
    assert all(parse_rocq(p.statement).targets for p in rocq)
    first = next(p for p in rocq if p.name == "mathd_numbertheory_101")
    assert first.header.startswith("Require Import Arith.") and "Theorem" not in first.header
    for name in ("minif2f-lean4", "proofnet-lean4", "proofnet-lean4-rahul3613"):
        for p in load_problems(name, "test"):
            assert p.statement.rstrip().endswith("sorry") and parse_lean(p.statement)
    isabelle = load_problems("minif2f-isabelle", "test")
    assert all(parse_target(p.statement).name for p in isabelle)
    assert all(p.statement.endswith("sorry\n\nend\n") for p in isabelle)
    lean = {p.name: p for p in load_problems("minif2f-lean4", "test")}
    assert lean["numbertheory_notEquiv2i2jasqbsqdiv8"].informal is None
    assert sum(p.informal is not None for p in lean.values()) == 243


@needs_data
def test_proofnet_categories_are_books_in_both_ports() -> None:
    deepseek = load_problems("proofnet-lean4", "valid")
    rahul = load_problems("proofnet-lean4-rahul3613", "valid")
    assert Counter(p.category for p in deepseek) == Counter(p.category for p in rahul)
    assert Counter(p.category for p in rahul)["Dummit_Foote"] == 43
    assert all("/" in p.key for p in deepseek)  # DeepSeek repeats bare names across books


def test_categories_from_names() -> None:
    assert category("amc12a_2019_p21") == "amc12" and category("amc12_2000_p1") == "amc12"
    assert category("aimeI_2000_p7") == "aime" and category("aime_1983_p1") == "aime"
    assert category("imosl_2007_algebra_p6") == "imo" and category("imo_1959_p1") == "imo"
    assert category("mathd_algebra_10") == "mathd_algebra"
    assert category("algebra_2rootsintpoly_am10tap11eqn2nnp15") == "algebra"
    assert category("Rudin_exercise_1_1", "proofnet-lean4-rahul3613") == "Rudin"
    assert category("Rudin|exercise_1_1", "proofnetsharp-lean4") == "Rudin"
    assert proofnet_book("import Mathlib\n\nopen Real\nopen scoped BigOperators\n\n") == "Ireland_Rosen"
    assert proofnet_book("import Mathlib\n") == "proofnet"


def test_unknown_names_and_splits_are_one_line() -> None:
    with pytest.raises(ValueError, match="known: minif2f-rocq, minif2f-lean4") as info:
        load_problems("minif2f-coq", "valid")
    assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match="known: valid, test"):
        load_problems("minif2f-rocq", "validation")


def test_data_file_and_data_dir_override(tmp_path: Path) -> None:
    rows = [
        {"name": "t_one", "split": "valid", "header": "import Mathlib\n\n",
         "formal_statement": "theorem t_one : 1 = 1 := by sorry", "informal_statement": "one"},
        {"name": "t_two", "split": "test", "header": "import Mathlib\n\n",
         "formal_statement": "theorem t_two : 2 = 2 :=", "informal_statement": None},
    ]
    path = tmp_path / "mine.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    (valid,) = load_problems("minif2f-lean4", "valid", data_file=path)
    assert (valid.key, valid.informal, valid.category) == ("t_one", "one", "t")
    (test,) = load_problems("minif2f-lean4", "test", data_file=path)
    assert test.statement.endswith("theorem t_two : 2 = 2 := sorry")
    (tmp_path / "valid").mkdir()
    (tmp_path / "valid" / "mathd_algebra_1.v").write_text("Theorem mathd_algebra_1 : 1 = 1.\nProof.\n")
    (mine,) = load_problems("minif2f-rocq", "valid", data_dir=tmp_path)
    assert (mine.name, mine.category, mine.header) == ("mathd_algebra_1", "mathd_algebra", "")
    with pytest.raises(ValueError, match=r"no \.v files"):
        load_problems("minif2f-rocq", "test", data_dir=tmp_path)
    (tmp_path / "bad.jsonl").write_text("{not json\n")
    with pytest.raises(ValueError, match="not JSON"):
        load_problems("minif2f-lean4", "valid", data_file=tmp_path / "bad.jsonl")


def _fake_datasets(monkeypatch: pytest.MonkeyPatch, rows: list[dict[str, Any]], calls: list[Any]) -> None:
    module = types.ModuleType("datasets")

    def load_dataset(name: str, split: str) -> list[dict[str, Any]]:
        calls.append((name, split))
        return rows

    module.load_dataset = load_dataset  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "datasets", module)


def test_hub_path_maps_deepseek_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real hub code path, with ``datasets.load_dataset`` replaced by rows in the dataset card's
    columns (the machines this is built on have no network)."""
    rows = [{"name": "exercise_1_13a", "split": "valid", "informal_prefix": "/-- Prove it. -/\n",
             "formal_statement": "theorem exercise_1_13a : True :=", "goal": "⊢ True",
             "header": "import Mathlib\n\nopen Complex Filter Function Metric Finset\n\n"}]
    calls: list[Any] = []
    _fake_datasets(monkeypatch, rows, calls)
    (p,) = load_problems("proofnet-lean4", "valid", hub=True)
    assert calls == [("HaimingW/proofnet-lean4", "valid")]
    assert (p.key, p.category, p.informal) == ("Shakarchi/exercise_1_13a", "Shakarchi", "Prove it.")
    assert p.statement.endswith(":= sorry")
    sharp = [{"id": "Rudin|exercise_1_1", "nl_statement": "x", "lean4_src_header": "import Mathlib",
              "lean4_formalization": "theorem exercise_1_1 : True := by"}]
    _fake_datasets(monkeypatch, sharp, calls)
    (q,) = load_problems("proofnetsharp-lean4", "test")
    assert (q.name, q.category) == ("Rudin|exercise_1_1", "Rudin")
    assert q.statement == "import Mathlib\ntheorem exercise_1_1 : True := by sorry"


def test_hub_without_datasets_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "datasets", None)  # import fails
    with pytest.raises(ValueError, match="needs the 'datasets' package"):
        load_problems("minif2f-lean4-deepseek", "valid")
