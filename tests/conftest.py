"""Shared fixtures. Tests marked ``rocq`` need Debian's Coq; CI sets PROVER_REQUIRE_ROCQ=1 so that a
missing Coq fails the run instead of skipping half the suite.

Under PROVER_REQUIRE_ROCQ a test may skip only for a missing GPU, Lean toolchain or Isabelle. Every
other precondition (benchmark data in ``data/``, recorded transcripts in ``tests/fixtures/``, Coq,
bubblewrap, prover's Coq plugin) goes through ``needs``, which skips locally but fails there."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
FIXTURES = REPO / "tests" / "fixtures"
MINIF2F_ROCQ = DATA / "minif2f-rocq"
LEAN_REPL_FIXTURES = FIXTURES / "lean-repl"
ISABELLE_FIXTURES = FIXTURES / "isabelle-server" / "isabelle-client-1.1.2"
REQUIRE_ALL = bool(os.environ.get("PROVER_REQUIRE_ROCQ"))
HAVE_ROCQ = shutil.which("coqidetop.opt") is not None and shutil.which("bwrap") is not None


def needs(present: bool, what: str) -> pytest.MarkDecorator:
    """Mark a test that needs ``what``: skipped where it is missing, failed under PROVER_REQUIRE_ROCQ.

    Not for a GPU, the Lean toolchain or Isabelle, which may be missing even in CI."""
    return pytest.mark.needs(what, present=present)


needs_minif2f = needs(MINIF2F_ROCQ.is_dir(), f"the miniF2F-rocq statements in {MINIF2F_ROCQ}")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs(what, present): see tests/conftest.py needs()")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers("needs"):
        if not mark.kwargs["present"]:
            if REQUIRE_ALL:
                pytest.fail(f"PROVER_REQUIRE_ROCQ is set but {mark.args[0]} is missing", pytrace=False)
            pytest.skip(f"needs {mark.args[0]}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if HAVE_ROCQ:
        return
    if REQUIRE_ALL:
        raise pytest.UsageError("PROVER_REQUIRE_ROCQ is set but coqidetop.opt/bwrap are missing")
    skip = pytest.mark.skip(reason="needs Debian's coq and bubblewrap packages")
    for item in items:
        if "rocq" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def rocq_backend():  # type: ignore[no-untyped-def]
    from prover.itp.rocq.backend import RocqBackend

    return RocqBackend()


@pytest.fixture(scope="module")
def rocq_pool(rocq_backend) -> Iterator[object]:  # type: ignore[no-untyped-def]
    from prover.itp.base import Limits
    from prover.verify.pool import VerifierPool

    with VerifierPool(rocq_backend, workers=2, limits=Limits(timeout_s=20)) as pool:
        yield pool
