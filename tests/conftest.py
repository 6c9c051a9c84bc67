"""Shared fixtures. Tests marked ``rocq`` need Debian's Coq; CI sets PROVER_REQUIRE_ROCQ=1 so that a
missing Coq fails the run instead of skipping half the suite."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
MINIF2F_ROCQ = SHARED / "data" / "minif2f-rocq"
HAVE_ROCQ = shutil.which("coqidetop.opt") is not None and shutil.which("bwrap") is not None
needs_minif2f = pytest.mark.skipif(not MINIF2F_ROCQ.is_dir(), reason="needs ../shared/data/minif2f-rocq")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if HAVE_ROCQ:
        return
    if os.environ.get("PROVER_REQUIRE_ROCQ"):
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
    from prover.pool import VerifierPool

    with VerifierPool(rocq_backend, workers=2, limits=Limits(timeout_s=20)) as pool:
        yield pool
