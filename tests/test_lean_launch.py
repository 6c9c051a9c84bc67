"""Which toolchain the Lean launch asks for, the stderr of a failed start, and the backend identity.

No Lean here: the `lake` below is a shell script that records what it was asked (argv, the elan
variables, its working directory) into ``$TMPDIR`` (the session's scratch folder, writable inside the
sandbox too), says so on stderr and exits 1. It stands in for elan's proxy or for a toolchain's own
lake only to show which one the launch runs and under which toolchain; it answers no request.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from prover.itp.base import Limits
from prover.itp.lean.backend import LeanBackend, LeanConfig
from prover.itp.lean.pins import get_pin
from prover.itp.lean.setup import (
    default_project_dir,
    installation_problem,
    package_revisions,
    repl_binary,
    resolve_lake,
    toolchain_bin,
)
from prover.itp.lean.statement import DEFAULT_HEADER
from tests.conftest import needs

PINNED = "leanprover/lean4:v4.24.0"
SAID = "fake lake: recorded the call, starting nothing"


def fake_project(root: Path, source: Path | None = None) -> Path:
    """A copy of a pinned project's pins (lean_project's unless ``source``) with empty files where
    setup leaves Mathlib and the REPL."""
    project = root / "proj"
    olean = project / ".lake" / "packages" / "mathlib" / ".lake" / "build" / "lib" / "lean" / "Mathlib.olean"
    for path in (olean, repl_binary(project)):
        path.parent.mkdir(parents=True)
        path.touch()
    for name in ("lakefile.toml", "lean-toolchain"):
        shutil.copy((source or default_project_dir()) / name, project / name)
    return project


def recording_lake(path: Path, tag: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "#!/bin/sh\n"
        f'{{ echo "lake={tag}"; echo "argv=$*"; echo "ELAN_TOOLCHAIN=$ELAN_TOOLCHAIN"; '
        'echo "ELAN_HOME=$ELAN_HOME"; echo "cwd=$(pwd)"; } > "$TMPDIR/lake-call"\n'
        f'echo "{SAID}" >&2\n'
        "exit 1\n"
    )
    path.chmod(0o755)
    return path


def recorded(scratch: Path) -> dict[str, str]:
    lines = (scratch / "lake-call").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines)


@pytest.fixture
def elan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An elan home with nothing installed, and a PATH of nothing but ``bin/`` (for fakes)."""
    home, path = tmp_path / "elan", tmp_path / "bin"
    home.mkdir()
    path.mkdir()
    monkeypatch.setenv("ELAN_HOME", str(home))
    monkeypatch.setenv("PATH", str(path))
    return home


def start(project: Path, scratch: Path, sandbox: bool = False) -> str:
    backend = LeanBackend(LeanConfig(project_dir=project, sandbox=sandbox))
    assert backend.availability().usable, backend.availability().detail
    with pytest.raises(RuntimeError) as info:
        backend.open_session(DEFAULT_HEADER.text, scratch, Limits())
    return str(info.value)


def test_the_proxy_is_told_the_pinned_toolchain(tmp_path: Path, elan: Path) -> None:
    """The reported bug: a bare proxy resolves the toolchain from its working directory."""
    project = fake_project(tmp_path)
    recording_lake(tmp_path / "bin" / "lake", "proxy")
    lake = resolve_lake(project)
    assert lake is not None and not lake.direct and lake.toolchain == PINNED
    scratch = tmp_path / "scratch"
    message = start(project, scratch)
    call = recorded(scratch)
    assert call["lake"] == "proxy" and call["ELAN_TOOLCHAIN"] == PINNED and call["ELAN_HOME"] == str(elan)
    assert call["argv"] == f"-d {project} env {repl_binary(project)}"
    # a failed start keeps what the process said, on one line
    assert "did not load the header" in message and SAID in message and "\n" not in message


def test_the_installed_toolchain_runs_its_own_lake(tmp_path: Path, elan: Path) -> None:
    project = fake_project(tmp_path)
    recording_lake(elan / "bin" / "lake", "proxy")
    (elan / "bin" / "elan").write_text("#!/bin/sh\nexit 1\n")
    (elan / "bin" / "elan").chmod(0o755)
    # elan there but the pinned toolchain not installed: the first start would try to download it
    problem = installation_problem(project)
    assert problem is not None and PINNED in problem and "prover setup lean" in problem
    own = recording_lake(toolchain_bin(PINNED) / "lake", "own")
    assert own.parent.parent.name == "leanprover--lean4---v4.24.0"  # elan's folder for the toolchain
    assert installation_problem(project) is None
    scratch = tmp_path / "scratch"
    assert SAID in start(project, scratch)
    call = recorded(scratch)
    assert call["lake"] == "own" and call["ELAN_TOOLCHAIN"] == PINNED


def _bwrap_works() -> bool:
    bwrap = shutil.which("bwrap")
    command = [str(bwrap), "--ro-bind", "/", "/", "--unshare-all", "true"]
    return bwrap is not None and subprocess.run(command, capture_output=True).returncode == 0


@needs(_bwrap_works(), "a bubblewrap that can create namespaces here")
def test_inside_the_sandbox_the_toolchain_still_comes_from_the_pin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bwrap = shutil.which("bwrap")
    assert bwrap is not None
    home, path = tmp_path / "elan", tmp_path / "bin"
    monkeypatch.setenv("ELAN_HOME", str(home))
    monkeypatch.setenv("PATH", f"{path}:{Path(bwrap).parent}")
    project = fake_project(tmp_path)
    recording_lake(path / "lake", "proxy")
    scratch = tmp_path / "scratch"
    assert SAID in start(project, scratch, sandbox=True)
    call = recorded(scratch)
    # the sandbox starts lake in the scratch folder, where no lean-toolchain is to be found
    assert call["cwd"] == str(scratch.resolve()) and not (scratch / "lean-toolchain").exists()
    assert call["ELAN_TOOLCHAIN"] == PINNED and call["ELAN_HOME"] == str(home)


def test_a_missing_pin_is_named(tmp_path: Path, elan: Path) -> None:
    project = fake_project(tmp_path)
    recording_lake(tmp_path / "bin" / "lake", "proxy")
    (project / "lean-toolchain").write_text("\n")
    assert resolve_lake(project) is None
    assert "lean-toolchain is missing or empty" in (installation_problem(project) or "")


def manifest(revisions: dict[str, str]) -> str:
    packages = [
        {"type": "git", "name": name, "rev": rev, "url": f"https://github.com/x/{name}", "inherited": False}
        for name, rev in revisions.items()
    ]
    return json.dumps({"version": "1.1.0", "packagesDir": ".lake/packages", "packages": packages})


def test_the_mathlib_revision_is_part_of_the_identity(tmp_path: Path) -> None:
    project = fake_project(tmp_path)

    def identity() -> dict[str, object]:
        loaded: dict[str, object] = json.loads(LeanBackend(LeanConfig(project_dir=project)).identity())
        return loaded

    # before setup has fetched anything: the lakefile's pins
    assert identity()["packages"] == {
        "mathlib": "f897ebcf72cd16f89ab4577d0c826cd14afaafc7",
        "REPL": "8fff8552292860d349b459d6a811e6915671dc0d",
    }
    (project / "lake-manifest.json").write_text(manifest({"mathlib": "a" * 40, "batteries": "b" * 40}))
    first = identity()
    assert first["packages"] == {"mathlib": "a" * 40, "batteries": "b" * 40}
    (project / "lake-manifest.json").write_text(manifest({"mathlib": "c" * 40, "batteries": "b" * 40}))
    assert identity() != first  # another Mathlib: another cache key
    (project / "lake-manifest.json").write_text("{not json")
    assert package_revisions(project) == {}


# -- the second pin: a Lean 4.9-era port's check launches the 4.9 project under the 4.9 toolchain ----

PINNED_4_9 = "leanprover/lean4:v4.9.0-rc1"


def test_a_4_9_port_asks_the_proxy_for_the_4_9_toolchain_and_project(
    tmp_path: Path, elan: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prover.config import Settings
    from prover.evaluate.benchmarks import get_benchmark
    from prover.itp import get_backend

    project = fake_project(tmp_path, get_pin("v4.9").project_dir())
    monkeypatch.setenv("PROVER_LEAN_PROJECT_V4_9", str(project))
    recording_lake(tmp_path / "bin" / "lake", "proxy")
    settings = Settings()
    settings.lean.sandbox = False
    bench = get_benchmark("proofnet-lean4")  # DeepSeek's port: written for Lean 4.9's Mathlib
    backend = get_backend("lean", settings, pin=bench.pin)
    assert isinstance(backend, LeanBackend) and backend.config.project_dir == project and backend.pin == "v4.9"
    scratch = tmp_path / "scratch"
    with pytest.raises(RuntimeError) as info:
        backend.open_session(DEFAULT_HEADER.text, scratch, Limits())
    assert SAID in str(info.value)
    call = recorded(scratch)
    assert call["lake"] == "proxy" and call["ELAN_TOOLCHAIN"] == PINNED_4_9
    assert call["argv"] == f"-d {project} env {repl_binary(project)}"
    # today's port, same settings: the v4.24 project and toolchain
    today = get_backend("lean", settings, pin=get_benchmark("minif2f-lean4").pin)
    assert isinstance(today, LeanBackend) and today.pin == "v4.24"


def test_an_installed_4_9_toolchain_runs_its_own_lake(tmp_path: Path, elan: Path) -> None:
    project = fake_project(tmp_path, get_pin("v4.9").project_dir())
    own = recording_lake(toolchain_bin(PINNED_4_9) / "lake", "own")
    assert own.parent.parent.name == "leanprover--lean4---v4.9.0-rc1"
    assert installation_problem(project) is None
    scratch = tmp_path / "scratch"
    assert SAID in start(project, scratch)
    call = recorded(scratch)
    assert call["lake"] == "own" and call["ELAN_TOOLCHAIN"] == PINNED_4_9


def test_a_missing_4_9_setup_names_its_pin(tmp_path: Path, elan: Path) -> None:
    project = fake_project(tmp_path, get_pin("v4.9").project_dir())
    recording_lake(tmp_path / "bin" / "lake", "proxy")
    repl_binary(project).unlink()
    assert "run `prover setup lean --pin v4.9`" in (installation_problem(project) or "")


def test_the_two_pins_have_two_identities(tmp_path: Path) -> None:
    def identity(source: Path) -> dict[str, object]:
        project = fake_project(tmp_path / source.name, source)
        loaded: dict[str, object] = json.loads(LeanBackend(LeanConfig(project_dir=project)).identity())
        return loaded

    today, then = identity(get_pin("v4.24").project_dir()), identity(get_pin("v4.9").project_dir())
    assert then["toolchain"] == PINNED_4_9 and today["toolchain"] == PINNED
    assert then["packages"] == {
        "mathlib": "2f65ba7f1a9144b20c8e7358513548e317d26de1",
        "REPL": "3334a97b268ecc67beb36a75787f7e831208a724",
    }
    assert today["packages"] != then["packages"]
