"""SFT datasets for the trainer: verified proofs (and conjectures) as records, written with ``datasets``.

One record per example, every record with the same columns (``COLUMNS``) so that a dataset mixing
prover and conjecturer examples has one schema:

- ``language``, ``problem`` (its name), ``kind`` (``prover`` or ``conjecturer``), ``statement`` (the
  trusted statement file), ``proof`` (the complete proof file, natural-language comments included
  when the annotated file verified), ``informal`` (or null), ``nl`` (the proof carries NL comments),
  ``length`` (characters of ``proof``), ``round`` (self-play round or null), ``source``
  (``selfplay``, ``portfolio`` …);
- for ``kind == "conjecturer"`` also ``seed_statement``, ``seed_proof`` and ``lemma`` (the
  conjecturer prompt's inputs), and ``proof`` holds the conjectured statement the model should
  produce; these three columns are null for prover records.

``export`` writes the records in curriculum order (shortest proof first), so a trainer that does
not shuffle sees easy examples first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from prover.bootstrap import BootstrapResult
from prover.generate.lang import language as _language

KINDS = ("prover", "conjecturer")
FORMATS = ("disk", "jsonl", "parquet")
_TEXT = ("language", "problem", "kind", "statement", "proof", "source")
_SEED = ("seed_statement", "seed_proof", "lemma")
COLUMNS = (*_TEXT[:5], "informal", "nl", "length", "round", "source", *_SEED)


def prover_record(language: str, problem: str, statement: str, proof: str, *, informal: str | None = None,
                  nl: bool = False, round: int | None = None, source: str = "selfplay") -> dict[str, Any]:
    """A prover example: ``proof`` is a complete proof file of ``statement`` that the pool verified."""
    return normalize({"language": language, "problem": problem, "kind": "prover", "statement": statement,
                      "proof": proof, "informal": informal, "nl": nl, "round": round, "source": source})


def bootstrapped_record(language: str, problem: str, statement: str, result: BootstrapResult, *,
                        informal: str | None = None, round: int | None = None,
                        source: str = "selfplay") -> dict[str, Any]:
    """A prover example from a bootstrap result: the annotated proof when the pool verified it,
    else the original (which the caller had verified)."""
    use_nl = result.verified and result.annotated != result.original
    return prover_record(language, problem, statement, result.annotated if use_nl else result.original,
                         informal=informal, nl=use_nl, round=round, source=source)


def conjecturer_record(language: str, problem: str, seed_statement: str, seed_proof: str, lemma: str,
                       conjecture: str, *, informal: str | None = None, round: int | None = None,
                       source: str = "selfplay") -> dict[str, Any]:
    """A conjecturer example: from (``seed_statement``, ``seed_proof``, ``lemma``) the model should
    produce ``conjecture`` (a statement file, which is also the record's trusted ``statement``)."""
    return normalize({"language": language, "problem": problem, "kind": "conjecturer",
                      "statement": conjecture, "proof": conjecture, "informal": informal, "nl": False,
                      "round": round, "source": source, "seed_statement": seed_statement,
                      "seed_proof": seed_proof, "lemma": lemma})


def normalize(record: Mapping[str, Any]) -> dict[str, Any]:
    """``record`` with every column (absent optional ones as null, ``length`` computed), in column
    order. Raises ``ValueError`` with a one-line message for a malformed record."""
    unknown = sorted(set(record) - set(COLUMNS))
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)}; a record has {', '.join(COLUMNS)}")
    missing = [key for key in _TEXT if not isinstance(record.get(key), str) or not record[key]]
    if missing:
        raise ValueError(f"missing or empty text field(s): {', '.join(missing)}")
    _language(record["language"])
    kind = record["kind"]
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r} (prover or conjecturer)")
    seeds = [key for key in _SEED if not isinstance(record.get(key), str) or not record[key]]
    if kind == "conjecturer" and seeds:
        raise ValueError(f"a conjecturer record needs {', '.join(seeds)}")
    if kind == "prover" and len(seeds) < len(_SEED):
        raise ValueError(f"a prover record has no {', '.join(k for k in _SEED if k not in seeds)}")
    if not isinstance(record.get("informal"), str | None):
        raise ValueError("informal must be text or null")
    if not isinstance(record.get("nl"), bool):
        raise ValueError("nl must be true or false")
    rnd = record.get("round")
    if rnd is not None and (isinstance(rnd, bool) or not isinstance(rnd, int) or rnd < 0):
        raise ValueError(f"round must be an integer >= 0 or null, not {rnd!r}")
    length = len(record["proof"])
    if record.get("length", length) != length:
        raise ValueError(f"length {record['length']!r} is not the proof's {length} characters")
    out = {key: record.get(key) for key in COLUMNS}
    out["length"] = length
    return out


def curriculum(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The records shortest proof first; equal lengths by problem name, then as given."""
    rows = [dict(r) for r in records]
    return sorted(rows, key=lambda r: (r.get("length", len(r.get("proof") or "")), r.get("problem") or ""))


def _features() -> Any:
    from datasets import Features, Value

    types = {"nl": "bool", "length": "int64", "round": "int64"}
    return Features({key: Value(types.get(key, "string")) for key in COLUMNS})


def export(records: Sequence[Mapping[str, Any]], out_dir: Path,
           formats: Sequence[str] = FORMATS) -> dict[str, Path]:
    """Write ``records`` in curriculum order as a saved dataset (``out_dir/dataset``), JSON lines
    (``out_dir/train.jsonl``) and/or parquet (``out_dir/train.parquet``); returns the paths by
    format. Raises ``ValueError`` for no records, an unknown format or a malformed record."""
    if not records:
        raise ValueError("no records to export")
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ValueError(f"unknown export format(s) {', '.join(unknown) or '(none given)'}; "
                         f"choose from {', '.join(FORMATS)}")
    rows = []
    for index, record in enumerate(records):
        try:
            rows.append(normalize(record))
        except ValueError as exc:
            raise ValueError(f"record {index} ({record.get('problem', '?')}): {exc}") from None
    from datasets import Dataset

    dataset = Dataset.from_list(curriculum(rows), features=_features())
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"disk": out_dir / "dataset", "jsonl": out_dir / "train.jsonl",
             "parquet": out_dir / "train.parquet"}
    if "disk" in formats:
        dataset.save_to_disk(str(paths["disk"]))
    if "jsonl" in formats:
        dataset.to_json(str(paths["jsonl"]), lines=True, force_ascii=False)
    if "parquet" in formats:
        dataset.to_parquet(str(paths["parquet"]))
    return {f: paths[f] for f in FORMATS if f in formats}
