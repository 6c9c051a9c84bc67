"""The distribution's name: "prover" on PyPI is an unrelated placeholder package, so the project is
distributed as prover-itp (the import package and the command stay prover), and no message or README
line may tell anyone to ``pip install prover``."""

from __future__ import annotations

import re
import tomllib

from tests.conftest import REPO

# `pip install prover`, `pip install 'prover[gpu]'`, `pip install "prover[ray]"`: the placeholder
_PLACEHOLDER = re.compile(r"pip install\s+(?:-U\s+|--upgrade\s+)?['\"]?prover(?![\w-])")


def test_the_distribution_is_not_the_placeholder_name() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["name"] == "prover-itp"
    assert project["scripts"] == {"prover": "prover.cli:main"}  # the command keeps its name
    assert {"gpu", "lean", "lora", "ray"} <= project["optional-dependencies"].keys()


def test_no_hint_installs_the_placeholder() -> None:
    files = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md")), *sorted((REPO / "prover").rglob("*.py")),
             *sorted((REPO / "scripts").glob("*.sh")), *sorted((REPO / "bench").glob("*"))]
    offenders = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in files if path.is_file()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if _PLACEHOLDER.search(line)
    ]
    assert offenders == []


def test_the_install_hints_name_a_command_that_installs_this_project() -> None:
    from prover.generate.vllm_backend import INSTALL_HINT as VLLM
    from prover.itp.lean.leandojo import INSTALL_HINT as LEAN_DOJO

    for hint, extra in ((VLLM, "gpu"), (LEAN_DOJO, "lean")):
        assert f"pip install 'prover-itp[{extra}]'" in hint and f"pip install -e '.[{extra}]'" in hint
    assert _PLACEHOLDER.search("pip install 'prover[gpu]'") and not _PLACEHOLDER.search("pip install 'prover-itp[gpu]'")
