"""Whole-proof engines on every backend: ``prover eval --engine model`` on the Lean and Isabelle
benchmarks and ``prover prove X.lean --engine model`` sample, extract and statically check, and stop
only where a check needs the missing proof assistant — one line saying what to install, exit 2 —
while ``eval``'s search engines still refuse them (no goal-level session there yet; ``prove`` and
``repl`` on Lean: tests/test_lean_cli.py). ``--max-tokens`` on ``eval``, ``prove`` and ``selfplay``.

The proof assistants are made unavailable on purpose (a Lean project folder that does not exist, an
Isabelle executable that does not exist), so the tests say the same wherever they run. The model's
text comes from a recording generator (its prompts and sampling parameters are kept); the prompts,
the extractor, the static checks and the pool are the real ones.
"""

from __future__ import annotations

import argparse
import sqlite3
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from prover import cli
from prover.cli import evaluate as eval_command
from prover.cli.common import RequireVerifier
from prover.generate.base import Completion
from prover.itp.base import BackendUnavailable, CheckRequest, Limits, Message, Reason, Verdict
from prover.verify.pool import PoolStats

LEAN_STATEMENT = "import Mathlib\n\ntheorem two_add (a : ℕ) : a + 2 = 2 + a := by sorry\n"


class RecordingGenerator:
    """A ``Generator`` answering every prompt with ``answer``; each call's prompts and max_tokens are
    kept in ``calls``."""

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.calls: list[tuple[list[str], int]] = []

    def identity(self) -> str:
        return "recording"

    def generate(self, prompts: Sequence[str], n: int, temperature: float, top_p: float, max_tokens: int,
                 stop: Sequence[str], seed: int | None) -> list[list[Completion]]:
        self.calls.append((list(prompts), max_tokens))
        return [[Completion(self.answer, 3, None, "stop") for _ in range(n)] for _ in prompts]

    def close(self) -> None:
        pass


@pytest.fixture
def no_provers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A settings file under which neither Lean nor Isabelle is usable."""
    monkeypatch.setenv("PROVER_ISABELLE", str(tmp_path / "no-isabelle" / "isabelle"))
    monkeypatch.delenv("PROVER_ISABELLE_SERVER", raising=False)
    config = tmp_path / "prover.toml"
    config.write_text(f'[pool]\nworkers = 1\n\n[lean]\nproject_dir = "{tmp_path / "no-lean"}"\n')
    return config


def use_generator(monkeypatch: pytest.MonkeyPatch, answer: str) -> RecordingGenerator:
    generator = RecordingGenerator(answer)
    monkeypatch.setattr("prover.cli.common.generator_from", lambda gen: generator)
    monkeypatch.setattr("prover.cli.prove.generator_from", lambda gen: generator)
    return generator


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err and "internal error" not in err, err
    return err


def samples(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        count: int = conn.execute("SELECT count(*) FROM samples").fetchone()[0]
    return count


@pytest.mark.parametrize(
    ("benchmark", "answer", "installs"),
    [
        ("minif2f-lean4", "  norm_num\n", "Lean project not found"),
        ("minif2f-isabelle", "  by simp\n", "install Isabelle2025"),
    ],
)
def test_eval_engine_model_runs_to_the_verifier_on_lean_and_isabelle(
    benchmark: str, answer: str, installs: str, no_provers: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    generator = use_generator(monkeypatch, answer)
    db = tmp_path / "e.sqlite"
    code = eval_command.main(["--benchmark", benchmark, "--split", "valid", "--engine", "model", "--model", "m",
                              "--limit", "2", "--max-tokens", "77", "--db", str(db), "--config", str(no_provers),
                              "--quiet"])
    err = one_line(capsys)
    assert code == 2
    backend = benchmark.split("-")[1].removesuffix("4")
    assert f"a generated proof passed the static checks, but the {backend} verifier is not usable here" in err
    assert installs in err
    # generation ran, with the flag's cap, on the benchmark's own statements
    prompts, max_tokens = generator.calls[0]
    assert max_tokens == 77 and "aimeII_2001_p3" in prompts[0]
    assert samples(db) == 0  # "not installed" says nothing about a proof: nothing was recorded


def test_eval_search_engines_still_need_a_goal_level_session(
    no_provers: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_generator(monkeypatch, "  norm_num\n")
    code = eval_command.main(["--benchmark", "minif2f-lean4", "--split", "valid", "--engine", "hybrid", "--model",
                              "m", "--db", str(tmp_path / "e.sqlite"), "--config", str(no_provers)])
    err = one_line(capsys)
    assert code == 2 and "goal-level session" in err and "--engine model" in err


def test_prove_lean_file_engine_model_runs_to_the_verifier(
    no_provers: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    generator = use_generator(monkeypatch, "```lean4\ntheorem two_add (a : ℕ) : a + 2 = 2 + a := by\n  omega\n```")
    statement = tmp_path / "s.lean"
    statement.write_text(LEAN_STATEMENT)
    code = cli.main(["prove", str(statement), "--engine", "model", "--model", "m", "-k", "2", "--rounds", "2",
                     "--max-tokens", "99", "--config", str(no_provers), "--quiet"])
    err = one_line(capsys)
    assert code == 2 and "lean verifier is not usable here" in err and "Lean project not found" in err
    assert len(generator.calls) == 1  # stopped at the first check: no revisions of "not installed"
    prompts, max_tokens = generator.calls[0]
    assert max_tokens == 99 and "two_add" in prompts[0] and "Lean 4" in prompts[0]


def test_prove_lean_file_with_a_statically_refused_answer_is_not_proved(
    no_provers: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Refusals need no proof assistant: they are definite verdicts, the run ends exit 1."""
    use_generator(monkeypatch, "  sorry\n")
    statement = tmp_path / "s.lean"
    statement.write_text(LEAN_STATEMENT)
    code = cli.main(["prove", str(statement), "--engine", "model", "--model", "m", "-k", "1", "--rounds", "0",
                     "--config", str(no_provers), "--quiet"])
    assert code == 1
    assert "not proved" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--engine", "hybrid", "--model", "m"], "tool correction (--engine hybrid, --from) needs Rocq"),
        ([], "backend lean is not usable here: Lean backend unavailable: Lean project not found"),
        (["--engine", "model", "--model", "m", "--max-tokens", "0"], "--max-tokens must be at least 1"),
    ],
)
def test_prove_lean_file_bad_input_is_one_line(
    args: list[str], message: str, no_provers: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    use_generator(monkeypatch, "  norm_num\n")
    statement = tmp_path / "s.lean"
    statement.write_text(LEAN_STATEMENT)
    assert cli.main(["prove", str(statement), *args, "--config", str(no_provers)]) == 2
    assert message in one_line(capsys)


def test_max_tokens_needs_a_model_engine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    statement = tmp_path / "s.v"
    statement.write_text("Theorem t : True.\nProof.\nAdmitted.\n")
    assert cli.main(["prove", str(statement), "--max-tokens", "64"]) == 2
    assert "--max-tokens needs --engine model or hybrid" in one_line(capsys)
    for argv in (["--max-tokens", "64"], ["--engine", "model", "--model", "m", "--max-tokens", "0"]):
        code = eval_command.main(["--benchmark", "minif2f-rocq", "--split", "valid", *argv,
                                  "--db", str(tmp_path / "e.sqlite")])
        assert code == 2 and "--max-tokens takes a positive number" in one_line(capsys)


def test_eval_max_tokens_is_part_of_a_model_run(tmp_path: Path) -> None:
    """Samples under another cap are another run (never resumed into this one); the default is the
    [generate] setting's."""
    from prover.config import load_settings
    from prover.evaluate.benchmarks import get_benchmark

    parser = eval_command.build_parser()
    bench = get_benchmark("minif2f-rocq")
    settings = load_settings(None)

    def config(*argv: str) -> Any:
        args = parser.parse_args(["eval", "--benchmark", "minif2f-rocq", "--split", "valid", *argv])
        return eval_command._config(args, 1, None, settings.generate.max_tokens)

    capped = config("--engine", "model", "--model", "m", "--max-tokens", "2048")
    default = config("--engine", "model", "--model", "m")
    assert capped.max_tokens == 2048 and default.max_tokens == settings.generate.max_tokens
    assert capped.run_config(bench, 0, "id")["max_tokens"] == 2048
    assert eval_command._model_config(capped, settings).max_tokens == 2048
    assert eval_command._model_config(default, settings).max_tokens == settings.generate.max_tokens
    portfolio = config()
    assert portfolio.max_tokens is None and "max_tokens" not in portfolio.run_config(bench, 0, "id")


def test_selfplay_max_tokens_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    seen: list[Any] = []
    monkeypatch.setattr("prover.cli.selfplay.run_selfplay",
                        lambda settings, *rest: seen.append(settings) or [{"round": 1}])
    assert cli.main(["selfplay", "--max-tokens", "33", "--workdir", str(tmp_path)]) == 0
    assert seen[0].selfplay.max_tokens == 33
    assert cli.main(["selfplay", "--max-tokens", "0", "--workdir", str(tmp_path)]) == 2
    assert "--max-tokens must be at least 1" in one_line(capsys)


@pytest.mark.parametrize("command", ["eval", "prove", "selfplay"])
def test_help_documents_max_tokens(command: str) -> None:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    text = sub.choices[command].format_help()
    assert "--max-tokens N" in text and "the most tokens one sampled proof" in " ".join(text.split())


class _FixedPool:
    """A pool whose every verdict is ``verdict``."""

    def __init__(self, verdict: Verdict) -> None:
        self.verdict = verdict
        self.limits = Limits()
        self.stats = PoolStats()
        self.closed = False

    def submit(self, request: CheckRequest, timeout_s: float | None = None) -> Future[Verdict]:
        future: Future[Verdict] = Future()
        future.set_result(self.verdict)
        return future

    def check(self, request: CheckRequest, timeout_s: float | None = None) -> Verdict:
        return self.verdict

    def close(self) -> None:
        self.closed = True


def test_require_verifier_raises_only_for_unavailable_verdicts() -> None:
    request = CheckRequest("p", "s")
    missing = Verdict(False, Reason.UNAVAILABLE, [Message("error", "Lean backend unavailable:\n install elan")])
    pool = RequireVerifier(_FixedPool(missing))
    for call in (lambda: pool.check(request), lambda: pool.submit(request).result(),
                 lambda: list(pool.map([request]))):
        with pytest.raises(BackendUnavailable, match=r"^Lean backend unavailable: install elan$"):
            call()
    failed = Verdict(False, Reason.ERROR, [Message("error", "no")])
    inner = _FixedPool(failed)
    passing = RequireVerifier(inner)
    assert passing.check(request) is failed and passing.submit(request).result() is failed
    assert list(passing.map([request, request])) == [failed, failed]
    passing.close()
    assert inner.closed
