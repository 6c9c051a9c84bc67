"""Training: examples rendered exactly as the model engine prompts, supervised fine-tuning with
checkpoints that resume to the same result, LoRA merged on save, the ``train`` and ``model init``
commands, and (slow) the learning benchmark: a trained small model proves heldout problems the
untrained one cannot."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from prover.cli.train import main
from prover.generate.base import cut_at_stop
from prover.generate.extract import extract_conjecture, extract_proof
from prover.generate.prompts import load_templates, prover_prompt
from prover.itp.base import CheckRequest, Limits
from prover.train.examples import Example, conjecturer_example, load_examples, prover_example
from prover.train.model_init import init_model
from prover.train.sft import TrainConfig, newest_checkpoint, train
from tests.conftest import needs

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "data" / "rocq-seeds" / "problems.jsonl"
needs_seeds = needs(SEEDS.is_file(), f"the seed problems in {SEEDS}")


def statement(name: str, claim: str, header: str = "Require Import Arith Lia.\n\n") -> str:
    return f"{header}Theorem {name} {claim}.\nProof.\nAdmitted.\n"


# Proof files as the portfolio writes them: its imports added to the header, comments dropped.
ADDED = "From Coq Require Import Lia Lra Psatz.\n"
PAIRS = [
    (statement(f"t{i}", f"(n : nat) (h0 : n + {i} = {i + 10}) : n = 10"),
     f"Require Import Arith Lia.\n{ADDED}\nTheorem t{i} (n : nat) (h0 : n + {i} = {i + 10}) : n = 10.\n"
     "Proof.\n  lia.\nQed.\n")
    for i in range(1, 9)
]


@pytest.fixture(scope="module")
def examples() -> list[Example]:
    return [prover_example("rocq", s, p) for s, p in PAIRS]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory, examples: list[Example]) -> Path:
    texts = [e.prompt + e.completion for e in examples]
    return init_model(tmp_path_factory.mktemp("tiny"), texts, vocab_size=300, n_layer=1, n_embd=32, n_head=2,
                      n_positions=512)


def weights(path: Path) -> dict[str, object]:
    from transformers import AutoModelForCausalLM

    return dict(AutoModelForCausalLM.from_pretrained(path).state_dict())


def max_diff(a: dict[str, object], b: dict[str, object]) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k] - b[k]).abs().max()) for k in a)  # type: ignore[operator]


# -- examples ----------------------------------------------------------------------------------------


def test_a_prover_example_is_the_engines_prompt_and_a_completion_the_extractor_reads_back() -> None:
    st, proof = PAIRS[0]
    for templates in ("default", "completion"):
        example = prover_example("rocq", st, proof, templates)
        prompt = prover_prompt(load_templates(templates), "rocq", st)
        assert example.prompt == prompt.render(None, "auto")  # what the model engine renders
        assert example.completion.startswith("  lia.\nQed.")
        assert any(example.completion.endswith(s) for s in prompt.stop)  # the model learns to stop
        for completion in (example.completion, cut_at_stop(example.completion, prompt.stop)[0]):
            extraction = extract_proof("rocq", st, prompt.answer(completion))
            assert extraction.text is not None and "  lia.\nQed." in extraction.text
            assert ADDED not in extraction.text  # the statement's own header, not the proof's


def test_a_proof_of_another_theorem_gives_no_example() -> None:
    st, proof = PAIRS[0]
    with pytest.raises(ValueError, match="exactly as the statement"):
        prover_example("rocq", st, proof.replace("n = 10", "n = 11"))


def test_a_conjecturer_example_reads_back_as_the_conjecture() -> None:
    st, proof = PAIRS[0]
    conjecture = statement("c1", "(n : nat) (h0 : n + 2 = 12) : n = 10")
    example = conjecturer_example("rocq", st, proof, "Lemma lia_ok : True.", conjecture)
    assert "Lemma used" in example.prompt and example.completion.endswith("```")
    got = extract_conjecture("rocq", st, "```coq\n" + example.completion)
    assert got.text is not None and "Theorem c1 (n : nat) (h0 : n + 2 = 12) : n = 10." in got.text


def test_load_examples_reads_all_record_kinds_and_names_the_bad_line(tmp_path: Path) -> None:
    st, proof = PAIRS[0]
    records = [
        {"prompt": "p", "completion": "c", "weight": 2},
        {"language": "rocq", "statement": st, "proof": proof},
        {"kind": "conjecturer", "language": "rocq", "seed_statement": st, "seed_proof": proof,
         "lemma": "Lemma l : True.", "proof": statement("c2", ": 1 = 1")},
    ]
    data = tmp_path / "d.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in records) + "\n\n")
    got = load_examples(data)
    assert got[0] == Example("p", "c", 2.0) and got[1] == prover_example("rocq", st, proof)
    assert "Theorem c2" in got[2].completion
    from datasets import Dataset

    Dataset.from_list([{"prompt": "a", "completion": "b"}]).save_to_disk(str(tmp_path / "ds"))
    assert load_examples(tmp_path / "ds") == [Example("a", "b")]
    for bad, why in (('{"language": "rocq", "proof": "x"}', "statement"), ("{oops", "not JSON"),
                     ('{"prompt": "p", "completion": "c", "weight": -1}', "weight"),
                     ('{"kind": "critic", "language": "rocq"}', "kind")):
        data.write_text(json.dumps(records[0]) + "\n" + bad + "\n")
        with pytest.raises(ValueError, match=rf"d\.jsonl:2: .*{why}"):
            load_examples(data)


@pytest.mark.rocq
@needs_seeds
def test_portfolio_proofs_become_examples_whose_completion_verifies(tmp_path: Path) -> None:
    from prover.itp.rocq.backend import RocqBackend
    from prover.train.learning import load_problems, portfolio_examples
    from prover.verify.pool import VerifierPool

    problems = [p for p in load_problems(SEEDS, "train") if p.name in ("seed_001", "seed_037")]
    with VerifierPool(RocqBackend(), workers=2, limits=Limits(timeout_s=30)) as pool:
        found = portfolio_examples(problems, pool, budget_s=20, workers=2)
        assert sorted(found.proofs) == ["seed_001", "seed_037"] and len(found.examples) == 2, found.dropped
        for problem in problems:
            proof = found.proofs[problem.name]
            assert proof.split("Theorem")[0] != problem.statement.split("Theorem")[0]  # the header differs
            example = prover_example("rocq", problem.statement, proof)
            prompt = prover_prompt(load_templates("default"), "rocq", problem.statement)
            candidate = extract_proof("rocq", problem.statement, prompt.answer(example.completion)).text
            assert candidate is not None
            assert pool.check(CheckRequest(candidate, problem.statement)).verified


# -- training ----------------------------------------------------------------------------------------


def test_training_lowers_the_loss_and_writes_a_loadable_model(tiny: Path, examples: list[Example],
                                                              tmp_path: Path) -> None:
    out = tmp_path / "out"
    config = TrainConfig(max_steps=12, learning_rate=1e-2, batch_size=4, threads=1)
    result = train(examples, str(tiny), out, config, progress=False)
    assert result.steps == 12 and len(result.losses) == 12 and result.examples == len(examples)
    assert result.final_loss == result.losses[-1] < 0.7 * result.losses[0]
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == list(range(1, 13))
    assert json.loads((out / "train_result.json").read_text())["steps"] == 12
    assert newest_checkpoint(out) == out / "checkpoint-12"
    assert max_diff(weights(out), weights(tiny)) > 0
    assert max_diff(weights(out), weights(out / "checkpoint-12")) == 0


def test_only_completion_tokens_are_learned(tiny: Path, tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    from prover.train.sft import tokenize

    tok = AutoTokenizer.from_pretrained(tiny)
    [feature] = tokenize([Example("Proof.\n", "  lia.")], tok, 512)
    prompt = len(tok("Proof.\n")["input_ids"])
    assert feature.labels[:prompt] == [-100] * prompt and feature.labels[-1] == tok.eos_token_id
    assert feature.labels[prompt:] == feature.ids[prompt:]
    assert tokenize([Example("x " * 600, "y")], tok, 64) == []  # nothing of the completion is left


@pytest.mark.parametrize("lora", [False, True], ids=["full", "lora"])
def test_resuming_from_a_checkpoint_equals_the_uninterrupted_run(tiny: Path, examples: list[Example],
                                                                tmp_path: Path, lora: bool) -> None:
    config = TrainConfig(max_steps=6, learning_rate=1e-2, batch_size=3, grad_accum=2, save_every=3,
                         warmup_ratio=0.2, threads=1, lora=lora, lora_r=4)
    whole = train(examples, str(tiny), tmp_path / "whole", config, progress=False)
    # An interrupted run: only its first checkpoint got written.
    (tmp_path / "resumed").mkdir()
    shutil.copytree(tmp_path / "whole" / "checkpoint-3", tmp_path / "resumed" / "checkpoint-3")
    resumed = train(examples, str(tiny), tmp_path / "resumed", config, resume=True, progress=False)
    assert resumed.steps == 6 and resumed.losses == pytest.approx(whole.losses, abs=1e-6)
    assert max_diff(weights(tmp_path / "whole"), weights(tmp_path / "resumed")) < 1e-6
    assert max_diff(weights(tmp_path / "whole"), weights(tiny)) > 0


def test_lora_is_merged_so_the_output_loads_without_peft(tiny: Path, examples: list[Example],
                                                        tmp_path: Path) -> None:
    out = tmp_path / "lora"
    config = TrainConfig(max_steps=3, learning_rate=1e-2, batch_size=4, lora=True, lora_r=4, threads=1)
    result = train(examples, str(tiny), out, config, progress=False)
    assert result.steps == 3 and not (out / "adapter_config.json").exists()
    assert (out / "checkpoint-3" / "adapter_config.json").exists()  # the checkpoint keeps the adapter
    merged = weights(out)
    assert not any("lora" in k for k in merged) and max_diff(merged, weights(tiny)) > 0


# -- the commands ------------------------------------------------------------------------------------


def one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str], needle: str) -> None:
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("prover: error: ") and needle in err, err


def test_train_command_bad_input_is_one_line(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["train", "--model", str(tiny), "--out", str(tmp_path / "o")]
    one_line_error(capsys, [*base, "--data", str(tmp_path / "missing.jsonl")], "no such file")
    (tmp_path / "empty.jsonl").write_text("\n")
    one_line_error(capsys, [*base, "--data", str(tmp_path / "empty.jsonl")], "holds no examples")
    (tmp_path / "bad.jsonl").write_text('{"prompt": "p", "completion": "c"}\n{"language": "rocq"}\n')
    one_line_error(capsys, [*base, "--data", str(tmp_path / "bad.jsonl")], "bad.jsonl:2: missing")
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps({"prompt": "p", "completion": "c"}) + "\n")
    data = [*base, "--data", str(good)]
    one_line_error(capsys, [*data, "--lr", "0"], "--lr must be positive")
    one_line_error(capsys, [*data, "--batch-size", "0"], "--batch-size must be positive")
    one_line_error(capsys, [*data, "--max-steps", "-1"], "must not be negative")
    one_line_error(capsys, [*data, "--warmup", "1.5"], "--warmup")
    one_line_error(capsys, [*data, "--device", "tpu"], "--device")
    one_line_error(capsys, ["train", "--model", str(tmp_path / "nomodel"), "--out", str(tmp_path / "o"),
                            "--data", str(good)], "cannot load the tokenizer")
    with pytest.raises(SystemExit) as exc:  # a value argparse cannot parse: its own usage error
        main([*data, "--epochs", "many"])
    assert exc.value.code == 2


def test_train_command_trains_and_refuses_to_mix_runs(tiny: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    st, proof = PAIRS[0]
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"language": "rocq", "statement": st, "proof": proof}) + "\n")
    argv = ["train", "--data", str(data), "--model", str(tiny), "--out", str(tmp_path / "o"), "--max-steps",
            "2", "--batch-size", "1", "--threads", "1", "--quiet"]
    assert main(argv) == 0
    assert "trained 2 steps on 1 examples" in capsys.readouterr().out
    assert max_diff(weights(tmp_path / "o"), weights(tiny)) > 0
    one_line_error(capsys, argv, "pass --resume")
    assert main([*argv, "--max-steps", "4", "--resume"]) == 0  # the last value of a flag counts
    assert json.loads((tmp_path / "o" / "train_result.json").read_text())["steps"] == 4


def test_model_init_writes_a_loadable_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    corpus = tmp_path / "c.v"
    corpus.write_text("".join(p for _, p in PAIRS) * 3)
    out = tmp_path / "m"
    argv = ["model", "init", "--out", str(out), "--corpus", str(tmp_path / "*.v"), "--vocab-size", "300",
            "--layers", "1", "--dim", "32", "--heads", "2", "--positions", "256"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "1 corpus file(s) from --corpus" in captured.err and "1 layers, dim 32" in captured.out
    model = AutoModelForCausalLM.from_pretrained(out)
    assert model.config.n_layer == 1 and model.config.n_positions == 256
    assert AutoTokenizer.from_pretrained(out)("lia.")["input_ids"]
    one_line_error(capsys, argv, "already holds a model")
    one_line_error(capsys, ["model", "init", "--out", str(tmp_path / "n"), "--corpus", str(tmp_path / "*.none")],
                   "no such file")
    one_line_error(capsys, ["model", "init", "--out", str(tmp_path / "n"), "--dim", "30", "--heads", "4"],
                   "must divide")
    one_line_error(capsys, ["model", "init", "--out", str(tmp_path / "n"), "--vocab-size", "100"], "at least 260")


def test_the_default_corpus_is_the_repositorys_else_the_shipped_texts(tmp_path: Path) -> None:
    from prover.cli.train import SHIPPED_PROOFS, default_corpus

    texts, what = default_corpus()
    assert texts and "project corpus" in what and str(REPO) in what
    texts, what = default_corpus([tmp_path])  # an installed package: no checkout around it
    assert texts[: len(SHIPPED_PROOFS)] == list(SHIPPED_PROOFS) and "no repository checkout found" in what
    assert any("[prover]" in t for t in texts)  # the shipped prompt templates


# -- the learning benchmark --------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.rocq
@needs_seeds
def test_the_learning_benchmark_trained_beats_untrained(tmp_path: Path) -> None:
    bench_out = tmp_path / "learning.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "learning.py"), "--families", "5", "-k", "8", "--steps", "250",
         "--json-out", str(bench_out), "--quiet"],
        capture_output=True, text=True, timeout=400,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(bench_out.read_text())
    assert result["train_problems"] == 20 and result["heldout_problems"] == 10
    assert result["portfolio"]["examples"] >= 18
    before, after = result["untrained"], result["trained"]
    assert before["proved"] == 0 and after["proved"] >= 3, done.stdout  # measured: 5, 5, 8 for seeds 0-2
    assert "| trained" in done.stdout
