"""Setting up lean_project/ (without internet: failures must be clear) and the LeanDojo adapter."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest

from prover.itp.base import BackendUnavailable
from prover.itp.lean.leandojo import (
    INSTALL_HINT,
    DojoStep,
    TheoremRecord,
    record_from_traced,
    require_lean_dojo,
    step_from_result,
    trace_repository,
)
from prover.itp.lean.setup import (
    REPL_TARGET,
    default_project_dir,
    installation_problem,
    mathlib_built,
    repl_binary,
    setup_lean,
)

PROJECT = default_project_dir()


@pytest.fixture
def no_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty PATH and no elan: what a machine without Lean looks like."""
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("ELAN_HOME", str(tmp_path / "no-elan"))
    return str(empty)


def test_project_pins_the_minif2f_toolchain_and_repl() -> None:
    assert (PROJECT / "lean-toolchain").read_text().strip() == "leanprover/lean4:v4.24.0"
    config = tomllib.loads((PROJECT / "lakefile.toml").read_text())
    pins = {r["name"]: r for r in config["require"]}
    assert pins["mathlib"]["rev"] == "f897ebcf72cd16f89ab4577d0c826cd14afaafc7"
    assert pins["REPL"]["git"] == "https://github.com/leanprover-community/repl"
    assert pins["REPL"]["rev"] == "8fff8552292860d349b459d6a811e6915671dc0d"  # tag v4.24.0
    assert REPL_TARGET == "REPL/repl"


def test_setup_without_elan_or_curl_fails_clearly(no_tools: str) -> None:
    done, message = setup_lean(PROJECT, path=no_tools)
    assert not done and "\n" not in message
    assert "curl" in message and "elan" in message
    assert installation_problem(PROJECT, path=no_tools).startswith("`lake` not found")  # type: ignore[union-attr]


def test_setup_reports_a_failed_download(no_tools: str) -> None:
    curl = Path(no_tools) / "curl"
    curl.write_text("#!/bin/sh\necho 'curl: (6) Could not resolve host' >&2\nexit 6\n")
    curl.chmod(0o755)
    done, message = setup_lean(PROJECT, path=no_tools)
    assert not done and message.startswith("cannot download elan") and "Could not resolve host" in message


def test_setup_runs_cache_get_then_builds_the_repl(tmp_path: Path, no_tools: str) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    for name in ("lakefile.toml", "lean-toolchain"):
        (project / name).write_text((PROJECT / name).read_text())
    calls = tmp_path / "calls.txt"
    lake = Path(no_tools) / "lake"
    # A fake lake that records its arguments and leaves what the real one would build.
    lake.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {calls}\n'
        'if [ "$1" = exe ]; then /bin/mkdir -p .lake/packages/mathlib/.lake/build/lib/lean && '
        ": > .lake/packages/mathlib/.lake/build/lib/lean/Mathlib.olean; fi\n"
        'if [ "$1" = build ]; then /bin/mkdir -p .lake/packages/REPL/.lake/build/bin && '
        ": > .lake/packages/REPL/.lake/build/bin/repl; fi\n"
    )
    lake.chmod(0o755)
    assert installation_problem(project, path=no_tools).startswith("Mathlib is not built")  # type: ignore[union-attr]
    done, message = setup_lean(project, path=no_tools)
    assert done, message
    assert calls.read_text().splitlines() == ["exe cache get", "build REPL/repl"]
    assert mathlib_built(project) and repl_binary(project).is_file()
    assert installation_problem(project, path=no_tools) is None


def test_setup_stops_at_the_first_failing_step(tmp_path: Path, no_tools: str) -> None:
    lake = Path(no_tools) / "lake"
    lake.write_text("#!/bin/sh\necho 'error: could not clone mathlib' >&2\nexit 1\n")
    lake.chmod(0o755)
    done, message = setup_lean(PROJECT, path=no_tools)
    assert not done and "exe cache get" in message and "could not clone mathlib" in message


def test_leandojo_missing_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "lean_dojo", None)  # makes `import lean_dojo` fail
    with pytest.raises(BackendUnavailable, match=r"pip install 'prover-itp\[lean\]'"):
        require_lean_dojo()
    with pytest.raises(BackendUnavailable) as info:
        trace_repository("https://github.com/yangky11/miniF2F-lean4", "main")
    assert str(info.value) == INSTALL_HINT


def test_traced_theorem_becomes_a_plain_record() -> None:
    repo = SimpleNamespace(url="https://github.com/x/y", commit="abc")
    traced = SimpleNamespace(
        theorem=SimpleNamespace(repo=repo, file_path=Path("Y/A.lean"), full_name="Y.a"),
        start=SimpleNamespace(line_nb=3),
        end=SimpleNamespace(line_nb=5),
        get_theorem_statement=lambda: "theorem a : 1 = 1",
        get_tactic_proof=lambda: "by rfl",
        get_traced_tactics=lambda: [
            SimpleNamespace(tactic="rfl", state_before="⊢ 1 = 1", state_after="no goals")
        ],
    )
    record = record_from_traced(traced)
    assert record == TheoremRecord(
        "https://github.com/x/y",
        "abc",
        "Y/A.lean",
        "Y.a",
        "theorem a : 1 = 1",
        "by rfl",
        3,
        5,
        (record.steps[0],),
    )
    assert record.to_json()["steps"] == [
        {"tactic": "rfl", "state_before": "⊢ 1 = 1", "state_after": "no goals"}
    ]


def test_dojo_results_are_converted_by_kind() -> None:
    def named(name: str, **fields: object) -> object:
        return type(name, (), fields)()

    state = named("TacticState", pp="⊢ True")
    assert step_from_result(state) == DojoStep("state", "⊢ True", state)
    assert step_from_result(named("ProofFinished", message=None)).kind == "finished"
    assert step_from_result(named("LeanError", error="unknown tactic")).text == "unknown tactic"
    assert step_from_result(named("ProofGivenUp")).kind == "given_up"
    with pytest.raises(TypeError):
        step_from_result(named("Something"))


# -- the Lean 4.9-era pin -----------------------------------------------------------------------------


def test_the_4_9_project_pins_deepseeks_environment() -> None:
    """The revisions of DeepSeek-Prover-V1.5's `mathlib4` submodule (lean_project_v4_9/README.md)."""
    from prover.itp.lean.pins import PINS

    project = PINS["v4.9"].project_dir()
    assert (project / "lean-toolchain").read_text().strip() == "leanprover/lean4:v4.9.0-rc1"
    pins = {r["name"]: r for r in tomllib.loads((project / "lakefile.toml").read_text())["require"]}
    assert pins["mathlib"]["git"] == "https://github.com/xinhjBrant/mathlib4"
    assert pins["mathlib"]["rev"] == "2f65ba7f1a9144b20c8e7358513548e317d26de1"
    assert pins["REPL"]["git"] == "https://github.com/xinhjBrant/repl"
    assert pins["REPL"]["rev"] == "3334a97b268ecc67beb36a75787f7e831208a724"
    for pin in PINS.values():  # each pin's constants say what its folder says
        folder = pin.project_dir()
        assert (folder / "lean-toolchain").read_text().strip() == pin.toolchain
        revs = {r["name"]: r["rev"] for r in tomllib.loads((folder / "lakefile.toml").read_text())["require"]}
        assert revs["mathlib"] == pin.mathlib and REPL_TARGET in {" ".join(s.args[1:]) for s in pin.setup}


def test_setup_of_the_4_9_pin_updates_builds_mathlib_and_the_repl(
    tmp_path: Path, no_tools: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prover.itp.lean.pins import PINS

    project = tmp_path / "proj49"
    project.mkdir()
    for name in ("lakefile.toml", "lean-toolchain"):
        (project / name).write_text((PINS["v4.9"].project_dir() / name).read_text())
    monkeypatch.setenv("PROVER_LEAN_PROJECT_V4_9", str(project))
    calls = tmp_path / "calls.txt"
    lake = Path(no_tools) / "lake"
    # cache get fails (the fork's oleans are not on Mathlib's server); the build leaves Mathlib.
    lake.write_text(
        "#!/bin/sh\n"
        f'echo "$* toolchain=$ELAN_TOOLCHAIN nocache=$MATHLIB_NO_CACHE_ON_UPDATE" >> {calls}\n'
        'if [ "$1" = exe ]; then echo "no files to download" >&2; exit 1; fi\n'
        'if [ "$2" = Mathlib ]; then /bin/mkdir -p .lake/packages/mathlib/.lake/build/lib/lean && '
        ": > .lake/packages/mathlib/.lake/build/lib/lean/Mathlib.olean; fi\n"
        'if [ "$2" = REPL/repl ]; then /bin/mkdir -p .lake/packages/REPL/.lake/build/bin && '
        ": > .lake/packages/REPL/.lake/build/bin/repl; fi\n"
    )
    lake.chmod(0o755)
    done, message = setup_lean(path=no_tools, pin="v4.9")
    assert done, message
    assert str(project) in message and "v4.9.0-rc1" in message
    assert calls.read_text().splitlines() == [
        "update toolchain=leanprover/lean4:v4.9.0-rc1 nocache=1",
        "exe cache get toolchain=leanprover/lean4:v4.9.0-rc1 nocache=",
        "build Mathlib toolchain=leanprover/lean4:v4.9.0-rc1 nocache=",
        "build REPL/repl toolchain=leanprover/lean4:v4.9.0-rc1 nocache=",
    ]


def test_setup_cli_takes_a_pin(capsys: pytest.CaptureFixture[str]) -> None:
    from prover import cli

    with pytest.raises(SystemExit):
        cli.main(["setup", "--help"])
    out = capsys.readouterr().out
    assert "--pin" in out and "v4.9" in out and "lean_project_v4_9" in out
    assert cli.main(["setup", "rocq", "--pin", "v4.9"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("--pin is for `prover setup lean`") and "\n" not in err
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["setup", "lean", "--pin", "v3"])
    assert exit_info.value.code == 2
