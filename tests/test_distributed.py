"""Scale-out on Ray (``prover.distributed``) against a real Ray cluster that the module starts on this
machine: verifier actors give the local pool's verdicts, in order, and survive a dead actor; generation
replicas give the local generator's seeded completions; a wrong address fails fast with one line.

The cluster is ours alone (its own ports and temp dir, its own process group), and teardown kills
that process group: ``ray stop`` would kill every Ray process on the machine, other people's too."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from prover.config import Settings
from prover.distributed import RayGenerator, RayVerifierPool, connect, make_pool, wrap_generator
from prover.distributed.verifier import ACTOR_OVERHEAD_BYTES, actor_memory_bytes
from prover.generate.base import Completion, GenerationConfig, Generator
from prover.generate.cache import CachedGenerator
from prover.generate.hf import TransformersGenerator
from prover.itp.base import GIB, CheckRequest, Limits, Reason
from prover.verify.cache import VerdictCache
from prover.verify.pool import VerifierPool
from tests.conftest import HAVE_ROCQ, needs
from tests.generate_support import tiny_generator, tiny_model

__all__ = ["tiny_generator", "tiny_model"]  # fixtures, used by name

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow

DEMO = Path(__file__).resolve().parents[1] / "data" / "rocq-demo"
needs_rocq = needs(HAVE_ROCQ, "Debian's coq and bubblewrap packages")
PROMPTS = ["Theorem t (n : nat) : n + 0 = n.\nProof.\n", "Require Import Arith.\nLemma",
           "Lemma u : True.\nProof.\n"]
CLUSTER_MEMORY = 48 * GIB


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A one-node Ray cluster with 6 logical CPUs (room for a self-play run beside the pools) and 48 GiB
    of logical memory (what the actors reserve, whatever this machine has), started here and joined
    with ``connect``; its address."""
    exe = Path(sys.executable).with_name("ray")
    ray_cli = str(exe) if exe.exists() else shutil.which("ray")
    if ray_cli is None:
        pytest.skip("the ray command is not installed")
    port = free_port()
    # Short, since Ray puts Unix sockets under it (108 bytes at most for a socket path).
    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    command = [ray_cli, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=6",
               f"--memory={CLUSTER_MEMORY}",
               "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}",
               f"--dashboard-port={free_port()}", f"--dashboard-agent-listen-port={free_port()}"]
    if importlib.util.find_spec("grpc") is not None:  # Ray's client server (ray[client]) runs: move its port
        command.append(f"--ray-client-server-port={free_port()}")
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    # Its own session: every daemon it leaves behind shares its process group, which teardown kills.
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    group = proc.pid
    try:
        out, _ = proc.communicate(timeout=120)
        if proc.returncode != 0:
            pytest.fail(f"ray start failed ({proc.returncode}):\n{out[-3000:]}")
        address = f"127.0.0.1:{port}"
        connect(address)
        yield address
    finally:
        ray.shutdown()
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(group, sig)
            except ProcessLookupError:
                break
            time.sleep(1.0)
        shutil.rmtree(temp, ignore_errors=True)


# -- connecting --------------------------------------------------------------------------------------


def test_connect_to_nothing_fails_fast_with_one_line() -> None:
    port = free_port()  # closed again: nothing listens there
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=f"no Ray cluster answers at 127.0.0.1:{port}") as info:
        connect(f"127.0.0.1:{port}", timeout_s=3)
    assert time.monotonic() - started < 10
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("address", ["", "localhost", "host:port", "127.0.0.1:0", "127.0.0.1:70000"])
def test_connect_rejects_malformed_addresses(address: str) -> None:
    with pytest.raises(ValueError, match="HOST:PORT"):
        connect(address)


# before the cluster fixture joins one (the tests run in file order)
def test_pool_without_a_cluster_connection_is_refused() -> None:
    if ray.is_initialized():
        pytest.skip("this process already joined the test cluster")
    with pytest.raises(RuntimeError, match="connect"):
        RayVerifierPool("rocq", Settings(), workers=1)


def test_bad_pool_arguments_are_refused_before_any_actor_starts() -> None:
    with pytest.raises(ValueError, match="unknown backend 'coq'"):
        RayVerifierPool("coq", Settings(), workers=2)
    with pytest.raises(ValueError, match="at least one worker"):
        RayVerifierPool("rocq", Settings(), workers=0)


def test_connect_is_idempotent(cluster: str) -> None:
    connect(cluster)
    connect(cluster)
    assert ray.is_initialized()
    with pytest.raises(RuntimeError, match="already connected"):
        connect(f"localhost:{cluster.rpartition(':')[2]}")


# -- verifier actors ---------------------------------------------------------------------------------


def demo(folder: str, name: str) -> str:
    return (DEMO / folder / f"{name}.v").read_text()


def demo_requests() -> tuple[list[CheckRequest], list[bool]]:
    """Right and wrong proofs interleaved, so that an order mix-up changes the verdict pattern."""
    cheat = demo("statements", "n_pow_gt")  # ends in Admitted.
    cases = [
        (demo("proofs", "n_even_double"), "n_even_double", True),
        (demo("attempts", "n_ineq"), "n_ineq", False),
        (demo("proofs", "z_mod_sum"), "z_mod_sum", True),
        (cheat, "n_pow_gt", False),
        (demo("proofs", "n_pow_gt"), "n_pow_gt", True),
        (demo("attempts", "z_consecutive_product"), "z_consecutive_product", False),
        (demo("proofs", "n_mod_arith"), "n_mod_arith", True),
    ]
    requests = [CheckRequest(proof, demo("statements", name)) for proof, name, _ in cases]
    return requests, [expect for _, _, expect in cases]


@pytest.fixture(scope="module")
def ray_pool(cluster: str) -> Iterator[RayVerifierPool]:
    # Half a CPU each, so the generation replicas below still fit the 2-CPU cluster.
    with RayVerifierPool("rocq", Settings(), workers=2, limits=Limits(timeout_s=30), num_cpus=0.5) as pool:
        yield pool


@needs_rocq
def test_ray_pool_gives_the_local_verdicts_in_order(ray_pool: RayVerifierPool) -> None:
    requests, expected = demo_requests()
    remote = list(ray_pool.map(requests))
    assert [v.verified for v in remote] == expected
    assert remote[3].reason in (Reason.INCOMPLETE, Reason.FORBIDDEN)  # Admitted is no proof
    assert all(v.reason is None for v in remote if v.verified)
    settings = Settings()
    settings.pool.timeout_s = 30
    local = make_pool("rocq", settings, 2, ray_address=None)
    assert isinstance(local, VerifierPool)
    with local:
        here = list(local.map(requests))
    assert [(v.verified, v.reason) for v in remote] == [(v.verified, v.reason) for v in here]
    assert ray_pool.identity == local.backend.identity()
    assert ray_pool.limits == local.limits


@needs_rocq
def test_ray_pool_futures_stats_and_bad_input(ray_pool: RayVerifierPool) -> None:
    requests, expected = demo_requests()
    before = ray_pool.stats.checks
    futures = [ray_pool.submit(r) for r in requests[:3]]
    assert [f.result(timeout=120).verified for f in futures] == expected[:3]
    assert ray_pool.check(requests[0]).verified
    bad = ray_pool.check(CheckRequest("Theorem x : True.\nProof. exact I. Qed.", "not a statement at all"))
    assert not bad.verified and bad.reason is Reason.BAD_STATEMENT
    summary = ray_pool.stats.summary()
    assert summary["checks"] == before + 5
    assert summary["verified"] >= 3


@needs_rocq
def test_dead_actor_gives_a_crash_verdict_and_the_pool_goes_on(cluster: str) -> None:
    proof = CheckRequest(demo("proofs", "n_even_double"), demo("statements", "n_even_double"))
    cache = VerdictCache()
    with RayVerifierPool("rocq", Settings(), workers=2, num_cpus=0.5, cache=cache) as pool:
        victim = pool._slots[0].actor
        ray.kill(victim, no_restart=True)
        with pytest.raises(ray.exceptions.RayActorError):  # wait until Ray knows it is dead
            for _ in range(100):
                ray.get(victim.describe.remote(), timeout=30)
        # Least loaded first: two jobs at once go to both actors, one of them the dead one.
        verdicts = [f.result(timeout=120) for f in [pool.submit(proof), pool.submit(proof)]]
        crashed = [v for v in verdicts if v.reason is Reason.CRASH]
        assert len(crashed) == 1 and not crashed[0].verified
        assert "died" in (crashed[0].detail or "")
        assert sum(v.verified for v in verdicts) == 1
        # the dead actor is replaced and both slots verify again (other proofs: not from the cache)
        others = [CheckRequest(demo("proofs", n), demo("statements", n))
                  for n in ("z_mod_sum", "n_pow_gt", "n_mod_arith", "r_linear_solve")]
        again = [f.result(timeout=120) for f in [pool.submit(r) for r in others]]
        assert all(v.verified and not v.cached for v in again)
        assert pool.stats.restarts == 1 and pool.stats.crashes == 1
        # only the verdict about the text went into this process's cache, never the crash
        assert pool.check(proof).cached and pool.stats.cache_hits == 1
    with pytest.raises(RuntimeError, match="closed"):
        pool.submit(proof)


def test_actors_reserve_memory_and_their_stderr_reaches_the_driver(
    cluster: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """A Lean actor reserves what a Mathlib session grows to (no Lean needed: its project is missing,
    which the actor reports on its stderr, forwarded here)."""
    settings = Settings()
    settings.lean.project_dir = str(tmp_path / "no-lean-project")
    expected = actor_memory_bytes("lean", settings, settings.pool.limits())
    assert expected == 10 * GIB + ACTOR_OVERHEAD_BYTES
    with RayVerifierPool("lean", settings, workers=1, num_cpus=0.1) as pool:
        reserved = ray.get(pool._slots[0].actor.resources.remote(), timeout=60)
        assert reserved["memory"] == expected and reserved["CPU"] == 0.1
        deadline = time.monotonic() + 10
        while ray.available_resources().get("memory", 0) > CLUSTER_MEMORY - expected:  # the view lags
            assert time.monotonic() < deadline, ray.available_resources()
            time.sleep(0.2)
        verdict = pool.check(CheckRequest("theorem t : True := trivial", "theorem t : True := by sorry"))
        assert not verdict.verified and verdict.reason is Reason.UNAVAILABLE
        said = ""
        deadline = time.monotonic() + 30
        while "prover verifier actor on" not in said and time.monotonic() < deadline:
            time.sleep(0.5)  # Ray's log monitor forwards actor output every few hundred ms
            said += capfd.readouterr().err
    assert "Lean project not found" in said and "VerifierActor" in said  # Ray's prefix names the actor


def test_the_drivers_package_is_shipped_to_the_workers(cluster: str) -> None:
    def shipped() -> list[str]:  # pickled by value: the workers need not import this test module
        import sys
        from pathlib import Path

        return [p for p in sys.path if "runtime_resources" in p and (Path(p, "prover", "__init__.py")).is_file()]

    # (Ray puts the driver's working directory, here the checkout, before it on the workers' path)
    assert ray.get(ray.remote(num_cpus=0.1)(shipped).remote(), timeout=60)


# -- generation replicas -----------------------------------------------------------------------------


def sample(generator: Generator, prompts: list[str], seed: int | None = 7) -> list[list[Completion]]:
    return generator.generate(prompts, n=2, temperature=1.0, top_p=0.95, max_tokens=16, stop=[], seed=seed)


def test_one_replica_matches_the_local_generator(
    cluster: str, tiny_model: Path, tiny_generator: TransformersGenerator
) -> None:
    config = GenerationConfig(model=str(tiny_model), device="cpu", threads=1, max_batch=8)
    generator = RayGenerator(config, replicas=1, num_cpus=0.5)
    try:
        assert generator.identity() == tiny_generator.identity()
        assert sample(generator, PROMPTS) == sample(tiny_generator, PROMPTS)
        assert sample(generator, PROMPTS, seed=8) != sample(generator, PROMPTS, seed=7)
        assert generator.generate([], 2, 1.0, 0.95, 16, [], 7) == []
        # requests with their own n and seed reach the replica as one batch
        from prover.generate.batching import Request, SamplingParams

        requests, params = [Request(PROMPTS[0], 2, 3), Request(PROMPTS[1], 1, 4)], SamplingParams(1.0, 0.95, 16)
        assert generator.generate_requests(requests, params) == tiny_generator.generate_requests(requests, params)
        with pytest.raises(ValueError, match="top_p"):
            generator.generate(PROMPTS, 2, 1.0, 1.5, 16, [], 7)
    finally:
        generator.close()


def test_wrapped_replicas_split_the_batch_and_cache_here(
    cluster: str, tiny_model: Path, tiny_generator: TransformersGenerator, tmp_path: Path
) -> None:
    config = GenerationConfig(model=str(tiny_model), device="cpu", threads=1, max_batch=8,
                              cache_path=str(tmp_path / "completions.sqlite"))
    assert isinstance(wrap_generator(GenerationConfig(model=str(tiny_model), device="cpu", threads=1),
                                     None, 2), TransformersGenerator)
    generator = wrap_generator(config, cluster, replicas=2, num_cpus=0.5)
    try:
        assert isinstance(generator, CachedGenerator) and isinstance(generator.inner, RayGenerator)
        # three prompts over two replicas: runs of two and one, put back in prompt order; the same
        # samples as one local batch (log-probabilities to float rounding: other batches, see hf)
        first = sample(generator, PROMPTS)
        local = sample(tiny_generator, PROMPTS)
        assert [[(c.text, c.tokens, c.finish_reason) for c in cs] for cs in first] == [
            [(c.text, c.tokens, c.finish_reason) for c in cs] for cs in local]
        assert [c.logprob for cs in first for c in cs] == pytest.approx([c.logprob for cs in local for c in cs])
        assert sample(generator, PROMPTS) == first
        assert generator.stats.hits == len(PROMPTS)
    finally:
        generator.close()


@needs_rocq
def test_a_selfplay_round_runs_on_the_cluster(cluster: str, tmp_path: Path) -> None:
    """`prover selfplay --ray ADDRESS`: the verifier pool's sessions and the generation replica live in
    Ray actors; the round completes and its proofs are in the store."""
    from tests.test_selfplay import CONFIG, _small_seed_set

    _small_seed_set(tmp_path / "seeds.jsonl")
    (tmp_path / "prover.toml").write_text(CONFIG.replace("workers = 2", "workers = 1"))
    done = subprocess.run([sys.executable, "-m", "prover", "selfplay", "--ray", cluster], cwd=tmp_path,
                          capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"run on the Ray cluster at {cluster}" in done.stderr
    metrics = json.loads((tmp_path / "run" / "rounds.json").read_text())
    assert metrics[0]["verifier"] == "ray" and metrics[0]["verifier_checks"] > 0
    assert metrics[0]["targets_proved"] == 10
