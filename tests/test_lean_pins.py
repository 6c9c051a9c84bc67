"""Two Lean pins: each benchmark port names its pin, the eval runs in that pin's project, and
statements known not to elaborate on a pin are reported as such, never counted as unsolved.

No Lean here: which project a launch asks for is in tests/test_lean_launch.py (a fake `lake`), the
setup steps in tests/test_lean_setup.py. Statements are the bundled ports under data/.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, cast

import pytest

from prover.cli import evaluate as eval_command
from prover.config import Settings, load_settings
from prover.evaluate.benchmarks import DATA, REGISTRY, BenchProblem, get_benchmark, load_problems
from prover.evaluate.engines import SampleOutcome
from prover.evaluate.known_failures import does_not_elaborate, list_path, listed
from prover.evaluate.report import Environment, build_report, to_markdown
from prover.evaluate.run import EvalConfig, run_eval
from prover.evaluate.store import EvalStore
from prover.generate.base import Completion
from prover.itp import get_backend
from prover.itp.lean.backend import LeanBackend
from prover.itp.lean.pins import PINS, elaboration_problem, get_pin, pin_of
from prover.verify.pool import VerifierPool

# The 13 rows of DeepSeek's ProofNet port that write `∑ x in s` (issue 16).
SUM_IN = {
    "Dummit_Foote/exercise_9_4_2d", "Herstein/exercise_4_2_9", "Rudin/exercise_1_12", "Rudin/exercise_3_13",
    "Rudin/exercise_3_6a", "Rudin/exercise_3_7", "Rudin/exercise_3_8", "Rudin/exercise_5_4",
    "Shakarchi/exercise_1_19a", "Shakarchi/exercise_1_19b", "Shakarchi/exercise_1_19c",
    "Shakarchi/exercise_2_13", "Shakarchi/exercise_5_1",
}


def test_every_lean_port_names_a_pin_and_the_4_9_era_ports_name_v4_9() -> None:
    for bench in REGISTRY.values():
        assert (bench.pin in PINS) if bench.backend == "lean" else bench.pin is None, bench.name
    # DeepSeek's ports (DeepSeek-Prover-V1.5's datasets/, its Mathlib fork): the 4.9 project
    assert {b.name for b in REGISTRY.values() if b.pin == "v4.9"} == {"proofnet-lean4", "minif2f-lean4-deepseek"}
    assert get_benchmark("minif2f-lean4").pin == "v4.24"  # yangky11's port: Mathlib v4.24.0


def test_the_pin_of_a_project_is_its_toolchain(tmp_path: Path) -> None:
    for name, pin in PINS.items():
        assert pin_of(pin.project_dir()) == name
    (tmp_path / "lean-toolchain").write_text("leanprover/lean4:v4.15.0\n")
    assert pin_of(tmp_path) is None and pin_of(tmp_path / "missing") is None
    with pytest.raises(ValueError, match=r"unknown Lean pin 'v3'; known: v4\.24, v4\.9"):
        get_pin("v3")


@pytest.mark.parametrize(
    ("text", "breaks"),
    [
        ("∑ i in range n, f i", True),
        ("∑ i in (range n), f i", True),
        ("(∑ i : ℕ in Finset.range p, i) = 0", True),
        ("∏ x in s, f x", True),
        ("∑ n in (f.support \\ {0}), f n", True),
        ("∑ i ∈ range n, f i", False),
        ("∑ i, f i", False),
        ("∑' n : ℕ, 1 / (n : ℝ) ^ 2", False),
        ("theorem t (hin : x ∈ s) : x in_bounds", False),
    ],
)
def test_the_sum_in_notation_is_found(text: str, breaks: bool) -> None:
    assert (elaboration_problem(text, "v4.24") is not None) is breaks
    assert elaboration_problem(text, "v4.9") is None  # v4.9's Mathlib still has the notation


def test_the_listed_rows_are_what_the_notation_rule_finds() -> None:
    """The data list beside DeepSeek's ProofNet port is exactly the rule's answer on that port."""
    bench = get_benchmark("proofnet-lean4")
    assert list_path(bench) == DATA / "proofnet-lean4" / "does_not_elaborate.jsonl"
    problems = [p for split in ("valid", "test") for p in load_problems(bench.name, split)]
    assert len(problems) == 371
    found = {p.key for p in problems if elaboration_problem(p.statement, "v4.24")}
    assert found == SUM_IN and set(listed(bench, "v4.24")) == SUM_IN
    shas = {p.key: p.statement_sha for p in problems}
    assert all(shas[key] == sha for key, (sha, _) in listed(bench, "v4.24").items())
    assert set(does_not_elaborate(bench, problems, "v4.24")) == SUM_IN
    assert does_not_elaborate(bench, problems, "v4.9") == {}  # on its own pin every row stands


@pytest.mark.parametrize("name", ["minif2f-lean4", "proofnet-lean4-rahul3613"])
def test_todays_ports_have_nothing_known_not_to_elaborate(name: str) -> None:
    bench = get_benchmark(name)
    problems = [p for split in ("valid", "test") for p in load_problems(name, split)]
    assert does_not_elaborate(bench, problems, bench.pin) == {}


def test_an_edited_statement_is_judged_by_the_rule_alone() -> None:
    bench = get_benchmark("proofnet-lean4")
    listed_one = next(p for p in load_problems(bench.name, "valid") if p.key == "Rudin/exercise_3_6a")
    fixed = dataclasses.replace(listed_one, statement=listed_one.statement.replace(" in range", " ∈ range"))
    assert does_not_elaborate(bench, [fixed], "v4.24") == {}


def test_the_report_lists_them_apart_from_the_counts(tmp_path: Path) -> None:
    bench = get_benchmark("proofnet-lean4")
    problems = load_problems(bench.name, "valid")[:3]
    env = Environment("lean", "Lean (scripted)", "{}", "v4.24", (("Rudin/exercise_3_6a", "`∑ x in s` notation"),))

    class Never:
        def attempt(self, problem: BenchProblem, *_: Any) -> SampleOutcome:
            return SampleOutcome(False, None, 0.1, 0.0)

    config = EvalConfig(bench.name, "valid", budget_s=5, workers=1)
    with EvalStore(tmp_path / "e.sqlite") as store:
        summary = run_eval(config, bench, problems, cast(VerifierPool, None), store, "{}", None, Never())
        report = build_report(config, bench, problems, store, summary.hashes, env)
    assert report["total"] == 3 and report["config"]["pin"] == "v4.24"
    assert report["does_not_elaborate"] == [{"key": "Rudin/exercise_3_6a", "why": "`∑ x in s` notation"}]
    md = to_markdown(report)
    assert ", pin v4.24" in md and "1 problem(s) left out of every count above" in md
    assert "- Rudin/exercise_3_6a: does not elaborate on pin v4.24 (`∑ x in s` notation)" in md


def test_the_backend_runs_the_ports_pin_and_a_setting_for_single_checks(tmp_path: Path) -> None:
    settings = Settings()
    backend = get_backend("lean", settings, pin="v4.9")
    assert isinstance(backend, LeanBackend) and backend.config.project_dir == PINS["v4.9"].project_dir()
    settings.lean.pin = "v4.9"  # `prover check` on a DeepSeek-era proof
    assert cast(LeanBackend, get_backend("lean", settings)).pin == "v4.9"
    assert cast(LeanBackend, get_backend("lean", settings, pin="v4.24")).pin == "v4.24"  # the port wins
    settings.lean.project_dir = str(tmp_path)  # an explicit folder wins over both
    assert cast(LeanBackend, get_backend("lean", settings, pin="v4.9")).config.project_dir == tmp_path
    config = tmp_path / "prover.toml"
    config.write_text('[lean]\npin = "v5"\n')
    with pytest.raises(ValueError, match="unknown Lean pin 'v5'"):
        load_settings(config)


class Answering:
    """A generator whose every sample is one tactic (the engine's static checks pass it)."""

    def identity(self) -> str:
        return "answering"

    def generate(self, prompts: Any, n: int, *_: Any) -> list[list[Completion]]:
        return [[Completion("  norm_num\n", 3, None, "stop") for _ in range(n)] for _ in prompts]

    def close(self) -> None:
        pass


def _eval(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = eval_command.main(["--split", "valid", "--engine", "model", "--model", "m", "--quiet", *argv])
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    return code, err


def test_eval_of_a_4_9_port_uses_the_4_9_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PROVER_LEAN_PROJECT_V4_9", str(tmp_path / "no-v4.9"))
    monkeypatch.setattr("prover.cli.common.generator_from", lambda gen: Answering())
    code, err = _eval(["--benchmark", "proofnet-lean4", "--only", "Rudin/exercise_3_6a",
                       "--db", str(tmp_path / "e.sqlite")], capsys)
    assert code == 2 and f"Lean project not found at {tmp_path / 'no-v4.9'}" in err


def test_eval_on_another_pin_does_not_count_what_cannot_elaborate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    today = tmp_path / "v4.24"  # a copy of lean_project named by [lean] project_dir: pin v4.24
    today.mkdir()
    (today / "lean-toolchain").write_text(PINS["v4.24"].toolchain + "\n")
    config = tmp_path / "prover.toml"
    config.write_text(f'[lean]\nproject_dir = "{today}"\n')
    code, err = _eval(["--benchmark", "proofnet-lean4", "--only", "Rudin/exercise_3_6a", "--config", str(config),
                       "--db", str(tmp_path / "e.sqlite")], capsys)
    assert code == 2 and err.endswith("every selected problem is known not to elaborate on pin v4.24")
    assert json.loads(Path(list_path(get_benchmark("proofnet-lean4")) or "").read_text().splitlines()[0])["pin"] == "v4.24"
