"""prover's Coq plugin must give exactly the verdicts and axioms of Print Assumptions + About."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prover.itp.base import CheckRequest, Limits
from prover.itp.rocq.backend import RocqBackend
from prover.itp.rocq.plugin import plugin_built
from prover.verify.pool import VerifierPool
from tests.conftest import needs

pytestmark = pytest.mark.rocq

REPO = Path(__file__).resolve().parents[1]
needs_plugin = needs(plugin_built(), "prover's Coq plugin (built by `prover setup rocq`)")
# Cheats whose verdict rests on the axiom check itself, not on the guard or the statement check.
AXIOM_CASES = {
    "bad_axiom_false", "bad_parameter", "bad_declare_module", "bad_spoof_full_path",
    "bad_include_module_type", "bad_about_output_forgery_notation", "good_dne_classic",
    "good_fext_funext", "good_floor_prelude_spec", "good_r_amgm_nra_coquelicot",
}


def requests() -> list[CheckRequest]:
    chosen = []
    for folder, batch in ((REPO / "data" / "rocq-demo", "batch.jsonl"), (REPO / "tests" / "adversarial" / "rocq", "cases.jsonl")):
        for line in (folder / batch).read_text().splitlines():
            item = json.loads(line)
            if (folder.name == "rocq-demo" and not item["expect"]) or (folder.name == "rocq" and item["id"] not in AXIOM_CASES):
                continue
            statement = (folder / item["statement"]).read_text() if item.get("statement") else None
            chosen.append(CheckRequest((folder / item["proof"]).read_text(), statement))
    return chosen


@needs_plugin
def test_plugin_is_built_and_loaded(tmp_path: Path) -> None:
    assert plugin_built()
    backend = RocqBackend()
    session = backend.open_session("", tmp_path, Limits())
    try:
        assert session.plugin
    finally:
        session.close()


@needs_plugin
def test_plugin_agrees_with_print_assumptions() -> None:
    cases = requests()
    assert len(cases) >= 20
    with VerifierPool(RocqBackend(plugin=True), workers=1) as pool:
        fast = list(pool.map(cases))
    with VerifierPool(RocqBackend(plugin=False), workers=1) as pool:
        slow = list(pool.map(cases))
    for a, b in zip(fast, slow, strict=True):
        assert (a.verified, a.reason, sorted(a.axioms)) == (b.verified, b.reason, sorted(b.axioms))
    assert sum(v.verified for v in fast) >= 15 and sum(not v.verified for v in fast) >= 5
