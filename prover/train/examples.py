"""Training examples: (prompt, completion) pairs rendered exactly as the model engine renders its
prompts at inference, so that what the model learns is what it is later asked.

``prover_example`` turns a verified proof of a statement into the prover prompt plus what the model
must write after the prompt's response prefix (the opened code fence and the statement's stub): the
proof's body, ending with the template's stop string so that the model learns to stop.
``conjecturer_example`` does the same for the conjecturer role. ``load_examples`` reads them from
JSONL or a ``datasets.save_to_disk`` folder.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prover.generate.lang import declared_name, language, split_statement
from prover.generate.prompts import conjecturer_prompt, load_templates, prover_prompt


@dataclass(frozen=True)
class Example:
    prompt: str
    completion: str
    weight: float = 1.0  # scales this example's tokens in the loss


def completion_tokens(example: Example, tokenizer: Any) -> int:
    """The tokens the model writes for ``example``'s completion (its stop string included), counted
    as the trainer tokenizes it: what a sampling budget (``max_tokens``) limits."""
    return len(tokenizer(example.completion, add_special_tokens=False)["input_ids"])


def proof_body(lang: str, statement: str, proof: str) -> str:
    """What follows the statement's stub in ``proof``: the tactics and the closing ``Qed.`` (Rocq).

    A proof file need not start with the stub itself: the portfolio adds imports and drops comments
    from the header. So the stub's declaration is looked up in the proof with any whitespace between
    its words. Raises ``ValueError`` when the proof does not state the theorem as the statement does
    (then no completion after the stub can give it back)."""
    split = split_statement(lang, statement)
    if proof.startswith(split.stub):
        return proof[len(split.stub) :]
    found = declared_name(lang, split.stub)
    if found is None:
        raise ValueError("the statement declares no theorem")
    words = split.stub[found[1] :].split()
    pattern = r"(?:^|(?<=\n))[ \t]*" + r"\s+".join(re.escape(w) for w in words) + r"[ \t]*\n?"
    match = re.search(pattern, proof)
    if match is None:
        raise ValueError(f"the proof does not state theorem {found[0]} exactly as the statement does")
    return proof[match.end() :]


def _with_stop(body: str, stop: tuple[str, ...]) -> str:
    """``body`` ending at its first stop string (kept: the model must learn to write it) or, when it
    holds none, with the first stop string appended."""
    text = body.strip("\n").rstrip() + "\n"
    hits = [(i, s) for s in stop if s and (i := text.find(s)) >= 0]
    if hits:
        i, s = min(hits)
        return text[: i + len(s)]
    return text + (stop[0] if stop else "")


def prover_example(
    language_key: str,
    statement: str,
    proof: str,
    templates: str = "default",
    tokenizer: Any | None = None,
    prompt_format: str = "auto",
    weight: float = 1.0,
) -> Example:
    """The prover prompt of ``statement`` and the completion that makes ``proof`` (a complete proof
    file of it) once the extractor reads ``prompt.answer(completion)``. Raises ``ValueError``."""
    language(language_key)
    prompt = prover_prompt(load_templates(templates), language_key, statement)
    body = proof_body(language_key, statement, proof)
    if not body.strip():
        raise ValueError("the proof has nothing after the statement's stub")
    return Example(prompt.render(tokenizer, prompt_format), _with_stop(body, prompt.stop), weight)


def conjecturer_example(
    language_key: str,
    seed_statement: str,
    seed_proof: str,
    lemma: str,
    conjecture_statement: str,
    templates: str = "default",
    tokenizer: Any | None = None,
    prompt_format: str = "auto",
    weight: float = 1.0,
) -> Example:
    """The conjecturer prompt of (``seed_statement``, ``seed_proof``, ``lemma``) and, as the
    completion, ``conjecture_statement`` from its theorem declaration on (the extractor takes the
    header from the seed statement). Raises ``ValueError``."""
    language(language_key)
    prompt = conjecturer_prompt(load_templates(templates), language_key, seed_statement, seed_proof, lemma)
    found = declared_name(language_key, conjecture_statement)
    if found is None:
        raise ValueError("the conjecture declares no theorem")
    return Example(
        prompt.render(tokenizer, prompt_format),
        _with_stop(conjecture_statement[found[1] :], prompt.stop),
        weight,
    )


_PROVER_FIELDS = ("language", "statement", "proof")
_CONJECTURER_FIELDS = ("language", "seed_statement", "seed_proof", "lemma", "proof")


def example_of(
    record: Mapping[str, Any],
    templates: str = "default",
    tokenizer: Any | None = None,
    prompt_format: str = "auto",
) -> Example:
    """One record: ``prompt`` + ``completion``; or ``language`` + ``statement`` + ``proof`` (a prover
    example); or ``kind: "conjecturer"`` with ``seed_statement``, ``seed_proof``, ``lemma`` and the
    conjecture in ``proof``. An optional ``weight`` scales it. Raises ``ValueError``."""
    if not isinstance(record, Mapping):
        raise ValueError("a record must be a JSON object")
    weight = record.get("weight", 1.0)
    if weight is None:
        weight = 1.0
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not weight >= 0:
        raise ValueError(f"weight must be a number >= 0, not {weight!r}")
    if "prompt" in record or "completion" in record:
        _require(record, ("prompt", "completion"))
        if not record["completion"]:
            raise ValueError("empty completion")
        return Example(record["prompt"], record["completion"], float(weight))
    kind = record.get("kind") or "prover"
    if kind == "conjecturer":
        _require(record, _CONJECTURER_FIELDS)
        return conjecturer_example(
            record["language"],
            record["seed_statement"],
            record["seed_proof"],
            record["lemma"],
            record["proof"],
            templates,
            tokenizer,
            prompt_format,
            float(weight),
        )
    if kind != "prover":
        raise ValueError(f"unknown kind {kind!r} (prover or conjecturer)")
    _require(record, _PROVER_FIELDS)
    return prover_example(
        record["language"],
        record["statement"],
        record["proof"],
        templates,
        tokenizer,
        prompt_format,
        float(weight),
    )


def _require(record: Mapping[str, Any], fields: tuple[str, ...]) -> None:
    missing = [f for f in fields if not isinstance(record.get(f), str)]
    if missing:
        raise ValueError(f"missing or non-text field(s): {', '.join(missing)}")


def load_examples(
    path: Path, templates: str = "default", tokenizer: Any | None = None, prompt_format: str = "auto"
) -> list[Example]:
    """Examples from a JSONL file or a ``datasets.save_to_disk`` folder (see ``example_of`` for the
    records). Raises ``ValueError`` naming the line (or record) at fault."""
    path = Path(path)
    examples = []
    for where, record in _records(path):
        try:
            examples.append(example_of(record, templates, tokenizer, prompt_format))
        except ValueError as exc:
            raise ValueError(f"{path}:{where}: {exc}") from None
    return examples


def _records(path: Path) -> Iterator[tuple[str, Any]]:
    if path.is_dir():
        try:
            from datasets import load_from_disk
        except ImportError:
            raise ValueError(
                f"{path} is a folder; reading a saved dataset needs the datasets package"
            ) from None
        try:
            data: Any = load_from_disk(str(path))
        except (FileNotFoundError, ValueError) as exc:
            raise ValueError(f"{path} is not a dataset saved with save_to_disk: {exc}") from None
        if hasattr(data, "keys") and not hasattr(data, "column_names"):  # a DatasetDict: take "train"
            if "train" not in data:
                raise ValueError(f"{path}: a dataset dict without a 'train' split")
            data = data["train"]
        for i, row in enumerate(data):
            yield f"record {i}", row
        return
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not JSON: {exc.msg}") from None
        yield str(number), record
