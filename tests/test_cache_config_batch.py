from __future__ import annotations

from pathlib import Path

import pytest

from prover.config import load_settings
from prover.itp.base import CheckRequest, Message, Reason, Verdict
from prover.verify.batch import parse_line, read_batch
from prover.verify.cache import VerdictCache, request_key


def test_cache_key_separates_backend_statement_and_proof() -> None:
    base = request_key("rocq", CheckRequest("p", "s"))
    assert base == request_key("rocq", CheckRequest("p", "s"))
    assert base != request_key("lean", CheckRequest("p", "s"))
    assert base != request_key("rocq", CheckRequest("p", None))
    assert base != request_key("rocq", CheckRequest("ps", ""))


@pytest.mark.parametrize("reason", ["timeout", "memory", "crash", "unavailable"])
def test_transient_verdicts_are_not_cached(reason: str) -> None:
    cache = VerdictCache()
    cache.put("k", Verdict(False, Reason(reason)))
    assert cache.get("k") is None


def test_cache_key_covers_every_setting_that_changes_a_verdict() -> None:
    from prover.itp.rocq.backend import RocqBackend

    request = CheckRequest("p", "s")
    base = request_key(RocqBackend().identity(), request)
    assert base == request_key(RocqBackend().identity(), request)
    for other in (
        RocqBackend(sandbox=False),
        RocqBackend(extra_args=("-R", "/lib", "Lib")),
        RocqBackend(preload=()),
        RocqBackend(plugin=False),
    ):
        if other.identity() != RocqBackend().identity() or other.plugin != RocqBackend().plugin:
            assert request_key(other.identity(), request) != base
    identity = RocqBackend().identity()
    assert "allowed_axioms" in identity and "coq" in identity


def test_a_session_that_failed_to_start_is_not_cached() -> None:
    from prover.verify.pool import VerifierPool
    from tests.test_pool import FakeBackend

    cache = VerdictCache()
    with VerifierPool(FakeBackend(), workers=1, cache=cache) as pool:
        first = pool.check(CheckRequest("ok", "broken"))
        second = pool.check(CheckRequest("ok", "broken"))
    assert not first.verified and not second.cached
    assert pool.stats.cache_hits == 0


def test_reason_codes_are_one_enum_with_the_detail_apart() -> None:
    verdict = Verdict(False, "forbidden: sorry is not allowed")
    assert verdict.reason is Reason.FORBIDDEN and verdict.detail == "sorry is not allowed"
    assert verdict.to_json()["reason"] == "forbidden"
    with pytest.raises(ValueError):
        Verdict(False, "made up")


def test_cache_persists_in_sqlite(tmp_path: Path) -> None:
    db = tmp_path / "cache.sqlite"
    cache = VerdictCache(path=db)
    cache.put("k", Verdict(False, "axioms", [Message("error", "bad", 3, 1)], 1.5, ["Top.cheat"]))
    cache.close()
    again = VerdictCache(path=db).get("k")
    assert again is not None and again.cached
    assert (again.reason, again.messages[0].line, again.axioms) == ("axioms", 3, ["Top.cheat"])


def test_cache_evicts_least_recently_used() -> None:
    cache = VerdictCache(capacity=2)
    for key in "abc":
        cache.put(key, Verdict(True, None))
    assert cache.get("a") is None and cache.get("c") is not None


def test_batch_line_forms(tmp_path: Path) -> None:
    (tmp_path / "p.v").write_text("proof")
    (tmp_path / "s.v").write_text("statement")
    item = parse_line('{"id": 7, "proof": "p.v", "statement": "s.v"}', 1, tmp_path)
    assert item.id == 7 and item.request == CheckRequest("proof", "statement")
    inline = parse_line('{"id": "x", "proof_text": "P", "statement_text": "S"}', 2, tmp_path)
    assert inline.request == CheckRequest("P", "S")
    assert parse_line('{"id": "y", "proof_text": "P"}', 3, tmp_path).request == CheckRequest("P", None)


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"id": 1}', "needs 'proof'"),
        ('{"id": 1, "proof": "missing.v"}', "no such file"),
        ('{"id": 1, "proof_text": 3}', "must be a string"),
        ('{"id": 1, "proof": ""}', "non-empty path"),
    ],
)
def test_bad_batch_lines_become_errors(tmp_path: Path, line: str, error: str) -> None:
    item = parse_line(line, 4, tmp_path)
    assert item.request is None and error in (item.error or "")


def test_read_batch_skips_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "b.jsonl"
    path.write_text('{"proof_text": "a"}\n\n{"proof_text": "b"}\n')
    assert [i.id for i in read_batch(path)] == ["line-1", "line-3"]


def test_settings_defaults_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "prover.toml"
    path.write_text("[pool]\nworkers = 3\ntimeout_s = 5\n[rocq]\nsandbox = false\n")
    settings = load_settings(path)
    assert settings.pool.workers == 3 and settings.pool.timeout_s == 5.0 and not settings.rocq.sandbox
    # Memory left unset means each backend's own default; a chosen value is honoured as given.
    assert settings.pool.limits().memory_bytes is None
    from prover.itp.rocq.backend import RocqBackend

    assert RocqBackend().limits_for(settings.pool.limits()).memory_bytes == 4 * 1024**3
    path.write_text("[pool]\nmemory_gib = 4\n")
    chosen = load_settings(path).pool.limits()
    assert chosen.memory_bytes == 4 * 1024**3 and RocqBackend().limits_for(chosen).memory_bytes == 4 * 1024**3


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("[pool]\nworkerz = 1\n", "unknown setting"),
        ("[pool]\nworkers = 'two'\n", "should be int"),
        ("[gpu]\n", "unknown config section"),
        ("[pool\n", "not valid TOML"),
    ],
)
def test_bad_settings_are_one_line_errors(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "prover.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=error):
        load_settings(path)
