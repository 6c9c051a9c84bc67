"""Installing and finding the Lean toolchain, Mathlib and the REPL of a pinned project
(``lean_project/``, or another pin's folder: ``prover.itp.lean.pins``).

``setup_lean`` does what a user would type (install elan, ``lake exe cache get``, build the REPL);
``installation_problem`` says in one line what is still missing (it only looks at files and PATH:
whether the REPL really starts is for ``prover doctor``'s real check); ``resolve_lake`` says which
``lake`` runs the REPL and under which toolchain.

How elan picks a toolchain (``find_override`` in elan's ``src/elan/config.rs``): a ``+TOOLCHAIN``
first argument to a proxy, else ``$ELAN_TOOLCHAIN``, else an ``elan override`` or a ``lean-toolchain``
file found walking up from the *current directory* (``lake -d DIR`` plays no part), else the default
toolchain, which ``--default-toolchain none`` leaves unset. The REPL starts in a scratch folder (the
sandbox's working directory) with no ``lean-toolchain`` above it, so a bare ``lake`` proxy finds no
toolchain at all. Hence the launch never leaves the choice to the directory: it runs the pinned
toolchain's own ``lake`` once elan has installed it (no proxy in between, so nothing can try to
download a toolchain or write elan's settings inside the read-only, offline sandbox), and otherwise
the proxy with ``ELAN_TOOLCHAIN`` from the project's ``lean-toolchain`` (an environment variable,
unlike ``+TOOLCHAIN``, also reaches every proxy that ``lake`` starts in turn).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from prover.itp.lean.pins import DEFAULT_PIN, PINS, SetupStep, get_pin, pin_of

ELAN_INIT_URL = "https://raw.githubusercontent.com/leanprover/elan/master/elan-init.sh"
REPL_PACKAGE = "REPL"  # the `name` of the repl dependency in lean_project/lakefile.toml
REPL_TARGET = f"{REPL_PACKAGE}/repl"
INSTALL_HINT = (
    f"install elan (curl -sSf {ELAN_INIT_URL} | sh -s -- -y --default-toolchain none), "
    "then run `prover setup lean`"
)


def default_project_dir() -> Path:
    """The default pin's project: ``$PROVER_LEAN_PROJECT``, else ``lean_project/`` next to the
    package (a source checkout); ``prover.itp.lean.pins`` names the others."""
    return get_pin(DEFAULT_PIN).project_dir()


def elan_home() -> Path:
    return Path(os.environ.get("ELAN_HOME") or Path.home() / ".elan")


def _tool(name: str, path: str | None) -> Path | None:
    """``name`` on PATH (``path`` overrides ``$PATH``), else in elan's bin folder."""
    found = shutil.which(name, path=path)
    if found:
        return Path(found)
    candidate = elan_home() / "bin" / name
    return candidate if os.access(candidate, os.X_OK) else None


def find_lake(path: str | None = None) -> Path | None:
    """``lake`` on PATH, else elan's proxy in its bin folder."""
    return _tool("lake", path)


def pinned_toolchain(project_dir: Path) -> str | None:
    """The toolchain the project pins: the first line of its ``lean-toolchain``, as elan reads it."""
    try:
        lines = (project_dir / "lean-toolchain").read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    name = lines[0].strip() if lines else ""
    return name or None


def toolchain_bin(toolchain: str) -> Path:
    """Where elan installs a toolchain's binaries: ``leanprover/lean4:v4.24.0`` lives in
    ``toolchains/leanprover--lean4---v4.24.0`` (elan's own mangling of ``/`` and ``:``)."""
    return elan_home() / "toolchains" / toolchain.replace("/", "--").replace(":", "---") / "bin"


@dataclass(frozen=True)
class LakeCommand:
    """The ``lake`` that runs the REPL and the environment that pins its toolchain."""

    lake: Path
    toolchain: str
    direct: bool  # the toolchain's own lake; False: elan's proxy (or a lake not managed by elan)

    def env(self) -> dict[str, str]:
        # ELAN_HOME because the sandbox moves HOME to the scratch folder; ELAN_TOOLCHAIN is what
        # the proxy obeys, and is inert for a toolchain's own lake.
        return {"ELAN_HOME": str(elan_home()), "ELAN_TOOLCHAIN": self.toolchain}


def resolve_lake(project_dir: Path, path: str | None = None) -> LakeCommand | None:
    """The pinned toolchain's own ``lake`` when elan has installed it, else ``lake`` on PATH or
    elan's proxy told the toolchain by ``ELAN_TOOLCHAIN`` (see the module's docstring); None when
    the project pins no toolchain or there is no ``lake`` at all."""
    toolchain = pinned_toolchain(project_dir)
    if toolchain is None:
        return None
    own = toolchain_bin(toolchain) / "lake"
    if os.access(own, os.X_OK):
        return LakeCommand(own, toolchain, direct=True)
    lake = find_lake(path)
    return None if lake is None else LakeCommand(lake, toolchain, direct=False)


def package_revisions(project_dir: Path) -> dict[str, str | None]:
    """The revision of each Lake dependency: from ``lake-manifest.json`` (what was really fetched,
    Mathlib's own dependencies too) when setup has written it, else the lakefile's pins."""
    try:
        manifest = json.loads((project_dir / "lake-manifest.json").read_text())
        return {str(p["name"]): p.get("rev") for p in manifest["packages"]}
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError, TypeError):
        return {}  # unreadable: no revision is claimed
    try:
        config = tomllib.loads((project_dir / "lakefile.toml").read_text())
        return {str(r["name"]): r.get("rev") for r in config.get("require", [])}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def repl_binary(project_dir: Path) -> Path:
    return project_dir / ".lake" / "packages" / REPL_PACKAGE / ".lake" / "build" / "bin" / "repl"


def mathlib_built(project_dir: Path) -> bool:
    build = project_dir / ".lake" / "packages" / "mathlib" / ".lake" / "build" / "lib"
    return (build / "lean" / "Mathlib.olean").is_file() or (build / "Mathlib.olean").is_file()


def installation_problem(project_dir: Path, path: str | None = None) -> str | None:
    """None when the Lean backend can start; else one line naming what is missing and how to fix it."""
    if not (project_dir / "lakefile.toml").is_file():
        return f"Lean project not found at {project_dir} (set PROVER_LEAN_PROJECT to a copy of lean_project/)"
    toolchain = pinned_toolchain(project_dir)
    if toolchain is None:
        return f"{project_dir / 'lean-toolchain'} is missing or empty: the project must pin its toolchain"
    lake = resolve_lake(project_dir, path)
    if lake is None:
        return f"`lake` not found on PATH or in {elan_home() / 'bin'}: {INSTALL_HINT}"
    if not lake.direct and _tool("elan", path) is not None:
        # elan would download the toolchain at the first start, inside a sandbox with no network
        return (
            f"the pinned toolchain {toolchain} is not installed in {elan_home()}: run "
            f"`{setup_command(project_dir)}` (or `elan toolchain install {toolchain}`)"
        )
    if not mathlib_built(project_dir):
        return (
            f"Mathlib is not built in {project_dir / '.lake'}: run `{setup_command(project_dir)}` "
            "(lake exe cache get)"
        )
    if not repl_binary(project_dir).is_file():
        return (
            f"the Lean REPL is not built at {repl_binary(project_dir)}: run `{setup_command(project_dir)}` "
            f"(lake build {REPL_TARGET})"
        )
    return None


def setup_command(project_dir: Path) -> str:
    """The command that sets this project up: another pin's needs ``--pin``."""
    pin = pin_of(project_dir)
    return "prover setup lean" + (f" --pin {pin}" if pin not in (None, DEFAULT_PIN) else "")


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


def _step(lake: str, step: SetupStep, cwd: Path, env: dict[str, str], timeout_s: float) -> str | None:
    return _run([lake, *step.args], cwd, {**env, **dict(step.env)}, timeout_s * step.timeout_factor)


def known_pins() -> str:
    """One line per pin, for ``prover setup lean --help``."""
    return "; ".join(f"{p.name}: {p.what} in {p.folder}/" for p in PINS.values())


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
    project_dir: Path | None = None,
    path: str | None = None,
    timeout_s: float = 3600.0,
    pin: str | None = None,
) -> tuple[bool, str]:
    """Install what the Lean backend needs. Returns (done, one-line summary or reason it failed).

    Needs internet access (elan, the toolchain, Mathlib's cache and the REPL come from GitHub).
    ``path`` replaces ``$PATH`` for finding and running tools. ``pin`` picks the project (its
    folder unless ``project_dir`` is given) and its steps; without one, a ``project_dir`` gets the
    steps of the pin its toolchain is (the default pin's when none is).
    """
    if project_dir is None:
        project_dir = get_pin(pin).project_dir()
    steps = get_pin(pin or pin_of(project_dir)).setup
    if not (project_dir / "lakefile.toml").is_file():
        return False, f"Lean project not found at {project_dir}"
    toolchain = pinned_toolchain(project_dir)
    if toolchain is None:
        return False, f"{project_dir / 'lean-toolchain'} is missing or empty"
    env = dict(os.environ)
    if path is not None:
        env["PATH"] = path
    if find_lake(path) is None:
        failed = _install_elan(env, path, timeout_s)
        if failed:
            return False, failed
        if not (elan_home() / "bin" / "lake").is_file():
            return False, f"elan installed but {elan_home() / 'bin' / 'lake'} is missing; {INSTALL_HINT}"
    lake = resolve_lake(project_dir, path)
    assert lake is not None, "a lake was found or installed, and the toolchain is pinned"
    # The same toolchain the launch will ask for; through the proxy, elan installs it on first use.
    env.update(lake.env())
    for step in steps:
        failed = _step(str(lake.lake), step, project_dir, env, timeout_s)
        if failed and step.required:
            return False, failed
    problem = installation_problem(project_dir, path)
    if problem:
        return False, f"setup ran but the backend is still unusable: {problem}"
    final = resolve_lake(project_dir, path)
    where = f"its lake at {final.lake}" if final is not None and final.direct else f"lake {lake.lake}"
    return True, f"Lean ready: {toolchain} ({where}), Mathlib and REPL built in {project_dir}"
