"""Installing and finding the Lean toolchain, Mathlib and the REPL for ``lean_project/``.

``setup_lean`` does what a user would type (install elan, ``lake exe cache get``, build the REPL);
``installation_problem`` says in one line what is still missing. Both only look at files and PATH,
so ``prover doctor`` can call them cheaply.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

ELAN_INIT_URL = "https://raw.githubusercontent.com/leanprover/elan/master/elan-init.sh"
REPL_PACKAGE = "REPL"  # the `name` of the repl dependency in lean_project/lakefile.toml
REPL_TARGET = f"{REPL_PACKAGE}/repl"
INSTALL_HINT = (
    f"install elan (curl -sSf {ELAN_INIT_URL} | sh -s -- -y --default-toolchain none), "
    "then run `prover setup lean`"
)


def default_project_dir() -> Path:
    """``$PROVER_LEAN_PROJECT``, else ``lean_project/`` next to the package (a source checkout)."""
    configured = os.environ.get("PROVER_LEAN_PROJECT")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3] / "lean_project"


def elan_home() -> Path:
    return Path(os.environ.get("ELAN_HOME") or Path.home() / ".elan")


def find_lake(path: str | None = None) -> Path | None:
    """``lake`` on PATH (``path`` overrides ``$PATH``), else in elan's bin folder."""
    found = shutil.which("lake", path=path)
    if found:
        return Path(found)
    candidate = elan_home() / "bin" / "lake"
    return candidate if os.access(candidate, os.X_OK) else None


def repl_binary(project_dir: Path) -> Path:
    return project_dir / ".lake" / "packages" / REPL_PACKAGE / ".lake" / "build" / "bin" / "repl"


def mathlib_built(project_dir: Path) -> bool:
    build = project_dir / ".lake" / "packages" / "mathlib" / ".lake" / "build" / "lib"
    return (build / "lean" / "Mathlib.olean").is_file() or (build / "Mathlib.olean").is_file()


def installation_problem(project_dir: Path, path: str | None = None) -> str | None:
    """None when the Lean backend can start; else one line naming what is missing and how to fix it."""
    if not (project_dir / "lakefile.toml").is_file():
        return f"Lean project not found at {project_dir} (set PROVER_LEAN_PROJECT to a copy of lean_project/)"
    if find_lake(path) is None:
        return f"`lake` not found on PATH or in {elan_home() / 'bin'}: {INSTALL_HINT}"
    if not mathlib_built(project_dir):
        return (
            f"Mathlib is not built in {project_dir / '.lake'}: run `prover setup lean` (lake exe cache get)"
        )
    if not repl_binary(project_dir).is_file():
        return (
            f"the Lean REPL is not built at {repl_binary(project_dir)}: run `prover setup lean` "
            f"(lake build {REPL_TARGET})"
        )
    return None


def _run(argv: list[str], cwd: Path, env: dict[str, str], timeout_s: float) -> str | None:
    """None on success, else a one-line reason."""
    try:
        done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return f"`{' '.join(argv)}` ran past {timeout_s:g} s"
    except OSError as exc:
        return f"`{argv[0]}` cannot run: {exc.strerror}"
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        return f"`{' '.join(argv)}` failed (exit {done.returncode}): {lines[-1] if lines else 'no output'}"
    return None


def _install_elan(env: dict[str, str], path: str | None, timeout_s: float) -> str | None:
    curl = shutil.which("curl", path=path)
    if curl is None:
        return f"cannot install elan: `curl` not found; {INSTALL_HINT}"
    with tempfile.TemporaryDirectory(prefix="prover-elan-") as tmp:
        script = Path(tmp) / "elan-init.sh"
        failed = _run(
            [curl, "-sSfL", "--max-time", "60", ELAN_INIT_URL, "-o", str(script)], Path(tmp), env, 90
        )
        if failed:
            return f"cannot download elan (is there internet access?): {failed}"
        failed = _run(
            ["/bin/sh", str(script), "-y", "--default-toolchain", "none"], Path(tmp), env, timeout_s
        )
        return f"elan installer failed: {failed}" if failed else None


def setup_lean(
    project_dir: Path | None = None, path: str | None = None, timeout_s: float = 3600.0
) -> tuple[bool, str]:
    """Install what the Lean backend needs. Returns (done, one-line summary or reason it failed).

    Needs internet access (elan, the toolchain, Mathlib's cache and the REPL come from GitHub).
    ``path`` replaces ``$PATH`` for finding and running tools.
    """
    project_dir = project_dir or default_project_dir()
    if not (project_dir / "lakefile.toml").is_file():
        return False, f"Lean project not found at {project_dir}"
    env = dict(os.environ)
    if path is not None:
        env["PATH"] = path
    lake = find_lake(path)
    if lake is None:
        failed = _install_elan(env, path, timeout_s)
        if failed:
            return False, failed
        lake = elan_home() / "bin" / "lake"
        if not lake.is_file():
            return False, f"elan installed but {lake} is missing; {INSTALL_HINT}"
    steps = (
        [str(lake), "exe", "cache", "get"],  # resolves the pinned deps, downloads Mathlib's oleans
        [str(lake), "build", REPL_TARGET],
    )
    for argv in steps:
        failed = _run(argv, project_dir, env, timeout_s)
        if failed:
            return False, failed
    problem = installation_problem(project_dir, path)
    if problem:
        return False, f"setup ran but the backend is still unusable: {problem}"
    toolchain = (project_dir / "lean-toolchain").read_text().strip()
    return True, f"Lean ready: {toolchain}, Mathlib and REPL built in {project_dir}"
