"""Model-family presets: each preset's rendered prompt held to its family's published format, the
chat template round trip (system, user, prefill, enable_thinking, one BOS), choosing a preset by
flag or in [generate], and the answer after a thinking section."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from prover.config import cli_preset, load_settings
from prover.evaluate.benchmarks import _lean_statement
from prover.generate.base import GenerationConfig
from prover.generate.presets import apply_preset, get_preset, preset_names
from prover.generate.prompts import conjecturer_prompt, corrector_prompt, load_templates, prover_prompt
from prover.generate.thinking import split_thinking
from tests.generate_support import REPO

PRESETS = ["deepseek-prover-v1.5", "deepseek-prover-v2", "goedel-prover-v2", "kimina-prover", "stp"]

# The fixed statement: the first problem of data/minif2f-lean4 (checked against the file below).
HEADER = "import Mathlib\n\nset_option maxHeartbeats 0\n\nopen BigOperators Real Nat Topology Rat\n\n"
THEOREM = ("theorem aimeII_2001_p3 (x : ℕ → ℤ) (h₀ : x 1 = 211) (h₂ : x 2 = 375) (h₃ : x 3 = 420)\n"
           "  (h₄ : x 4 = 523) (h₆ : ∀ n ≥ 5, x n = x (n - 1) - x (n - 2) + x (n - 3) - x (n - 4)) :\n"
           "  x 531 + x 753 + x 975 = 898 := by")
INFORMAL = "Find the value of $x_{531}+x_{753}+x_{975}$. Show that it is 898."
PLAN = ("Before producing the Lean 4 code to formally prove the given theorem, provide a detailed proof plan "
        "outlining the main proof steps and strategies.\nThe plan should highlight key ideas, intermediate "
        "lemmas, and proof structures that will guide the construction of the final formal proof.")


def statement() -> str:
    row = json.loads((REPO / "data" / "minif2f-lean4" / "minif2f_lean4.jsonl").read_text().splitlines()[0])
    assert row["header"] == HEADER and row["formal_statement"] == THEOREM + " sorry"
    return _lean_statement(row["header"], row["formal_statement"])


# What each family's published code builds for this statement, written out (see each TOML file's
# source comment): (system, user, response) and, for completion-style presets, the plain text.
GOLDEN = {
    "deepseek-prover-v1.5": (
        "",
        "Complete the following Lean 4 code with explanatory comments preceding each line of code:",
        f"```lean4\n{HEADER}/-- {INFORMAL}-/\n{THEOREM}\n",
    ),
    "deepseek-prover-v2": (
        "",
        f"Complete the following Lean 4 code:\n\n```lean4\n{HEADER}/-- {INFORMAL}-/\n{THEOREM}\n  sorry\n```\n\n{PLAN}",
        "",
    ),
    "goedel-prover-v2": (
        "",
        f"Complete the following Lean 4 code:\n\n```lean4\n{HEADER}/-- {INFORMAL}-/\n{THEOREM}\n  sorry```\n\n{PLAN}",
        "",
    ),
    "kimina-prover": (
        "You are an expert in mathematics and Lean 4.",
        f"Think about and solve the following problem step by step in Lean 4.\n# Problem:{INFORMAL}\n"
        f"# Formal statement:\n```lean4\n{HEADER}/-- {INFORMAL}-/\n{THEOREM}\n\n```\n",
        "",
    ),
    "stp": ("", "Complete the following Lean 4 code:", f"```lean4\n{HEADER}{THEOREM}"),
}
PLAIN = {
    "deepseek-prover-v1.5": "Complete the following Lean 4 code with explanatory comments preceding each line of "
    f"code:\n\n```lean4\n{HEADER}/-- {INFORMAL}-/\n{THEOREM}\n",
    "stp": f"Complete the following Lean 4 code:\n\n```lean4\n{HEADER}{THEOREM}",
}
SETTINGS = {  # chat, thinking, stop, max_tokens
    "deepseek-prover-v1.5": (False, False, ("```",), 2048),
    "deepseek-prover-v2": (True, False, (), 8192),
    "goedel-prover-v2": (True, True, (), 32768),
    "kimina-prover": (True, True, (), 8096),
    "stp": (False, False, ("\n```",), 1024),
}


def test_the_presets_are_shipped() -> None:
    assert preset_names() == PRESETS
    for name in PRESETS:
        assert get_preset(name).source  # every preset names where its wording comes from


@pytest.mark.parametrize("name", PRESETS)
def test_golden_prompt(name: str) -> None:
    prompt = prover_prompt(load_templates(name), "lean", statement(), informal=INFORMAL)
    assert (prompt.system, prompt.user, prompt.response) == GOLDEN[name]
    if name in PLAIN:
        assert prompt.plain() == PLAIN[name]
    preset = get_preset(name)
    assert (preset.chat, preset.thinking, preset.stop, preset.max_tokens) == SETTINGS[name]
    assert prompt.stop == preset.stop and prompt.thinking is preset.thinking
    if preset.chat:
        # No prefilled fence and no stop at a closing fence: the plan or <think> comes first.
        assert prompt.response == "" and "```" not in prompt.stop
    assert prover_prompt(load_templates(name), "lean", statement(), sketch=True).user == \
        prover_prompt(load_templates(name), "lean", statement()).user


def test_without_an_informal_statement() -> None:
    kimina = prover_prompt(load_templates("kimina-prover"), "lean", statement())
    assert f"# Problem:\n# Formal statement:\n```lean4\n{HEADER}{THEOREM}\n\n```\n" in kimina.user
    v15 = prover_prompt(load_templates("deepseek-prover-v1.5"), "lean", statement())
    assert v15.response == f"```lean4\n{HEADER}{THEOREM}\n"


def test_unpublished_roles_come_from_the_base_set() -> None:
    proof = statement().replace("sorry", "simp")
    for name in ("deepseek-prover-v2", "goedel-prover-v2", "kimina-prover"):
        fixed = corrector_prompt(load_templates(name), "lean", statement(), proof, [])
        default = corrector_prompt(load_templates("default"), "lean", statement(), proof, [])
        assert fixed == dataclasses.replace(default, thinking=get_preset(name).thinking)
    stp = conjecturer_prompt(load_templates("stp"), "lean", THEOREM, THEOREM + "\n  simp", "theorem l : 0 = 0 := rfl")
    assert stp.plain() == ("Complete the following Lean 4 code:\n\n```lean4\n<lemma>\ntheorem l : 0 = 0 := rfl\n"
                           f"<easy theorem>\n{THEOREM}\n  simp\n<hard theorem>\n theorem")
    assert stp.stop == ("</hard theorem>",)
    v15 = corrector_prompt(load_templates("deepseek-prover-v1.5"), "lean", statement(), proof, [])
    assert v15.response.startswith(proof) and v15.system == v15.user == ""  # completion.toml's


# -- chat templates ---------------------------------------------------------------------------------

BOS = "<｜begin▁of▁sentence｜>"
# The shape of DeepSeek's templates (BOS first, system text, then User/Assistant tags) and of Qwen3's
# (im_start turns; enable_thinking false writes an empty thinking section into the prompt).
DEEPSEEK_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'system' %}{{ m['content'] }}\n\n"
    "{% elif m['role'] == 'user' %}<｜User｜>{{ m['content'] }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<｜Assistant｜>{% endif %}"
)
QWEN3_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n"
    "{% if enable_thinking is defined and enable_thinking is false %}<think>\n\n</think>\n\n{% endif %}{% endif %}"
)


def tokenizer(template: str) -> object:
    """A word-level tokenizer built in memory (no download), with BOS and the template."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.WordLevel({"<unk>": 0}, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=core, bos_token=BOS, eos_token="<eos>", unk_token="<unk>")
    tok.add_special_tokens({"additional_special_tokens": ["<｜User｜>", "<｜Assistant｜>", "<|im_start|>",
                                                         "<|im_end|>"]})
    tok.chat_template = template
    return tok


def test_chat_round_trip_deepseek_template() -> None:
    tok = tokenizer(DEEPSEEK_TEMPLATE)
    prompt = prover_prompt(load_templates("deepseek-prover-v2"), "lean", statement())
    text = prompt.render(tok, get_preset("deepseek-prover-v2").prompt_format)
    assert text == f"{BOS}<｜User｜>{prompt.user}<｜Assistant｜>"  # nothing prefilled after the turn
    ids = tok(text, add_special_tokens=False)["input_ids"]  # type: ignore[operator]
    assert ids[0] == tok.bos_token_id and ids.count(tok.bos_token_id) == 1  # type: ignore[attr-defined]
    kimina = prover_prompt(load_templates("kimina-prover"), "lean", statement())
    text = kimina.render(tok, "chat")
    assert text == f"{BOS}You are an expert in mathematics and Lean 4.\n\n<｜User｜>{kimina.user}<｜Assistant｜>"
    assert text.count(BOS) == 1
    # A prefill (a role inherited from default.toml) goes right after the assistant tag.
    fixed = corrector_prompt(load_templates("deepseek-prover-v2"), "lean", statement(), THEOREM, [])
    assert fixed.render(tok, "chat").endswith(f"<｜Assistant｜>```lean4\n{HEADER}{THEOREM}\n")


def test_chat_round_trip_thinking_switch() -> None:
    tok = tokenizer(QWEN3_TEMPLATE)
    goedel = prover_prompt(load_templates("goedel-prover-v2"), "lean", statement())
    assert goedel.render(tok, "chat") == f"<|im_start|>user\n{goedel.user}<|im_end|>\n<|im_start|>assistant\n"
    kimina = prover_prompt(load_templates("kimina-prover"), "lean", statement())
    text = kimina.render(tok, "chat")
    assert text.startswith("<|im_start|>system\nYou are an expert in mathematics and Lean 4.<|im_end|>\n")
    assert text.endswith("<|im_start|>assistant\n") and "<think>" not in text
    off = prover_prompt(load_templates("deepseek-prover-v2"), "lean", statement())  # thinking = false
    assert off.render(tok, "chat").endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")


# -- choosing a preset ------------------------------------------------------------------------------

def test_apply_preset_sets_the_prompt_settings() -> None:
    gen = GenerationConfig()
    apply_preset(gen, "goedel-prover-v2")
    assert (gen.preset, gen.templates, gen.prompt_format, gen.max_tokens) == \
        ("goedel-prover-v2", "goedel-prover-v2", "chat", 32768)
    apply_preset(gen, "stp")
    assert (gen.templates, gen.prompt_format, gen.max_tokens) == ("stp", "plain", 1024)
    with pytest.raises(ValueError, match=r"unknown preset 'x'; presets: deepseek-prover-v1\.5, "):
        apply_preset(gen, "x")


def test_preset_in_the_settings_file(tmp_path: Path) -> None:
    path = tmp_path / "prover.toml"
    path.write_text('[generate]\nmax_tokens = 4096\npreset = "kimina-prover"\n')
    gen = load_settings(path).generate
    # The keys beside the preset override it, wherever they are written in the section.
    assert (gen.preset, gen.templates, gen.prompt_format, gen.max_tokens) == \
        ("kimina-prover", "kimina-prover", "chat", 4096)
    with cli_preset("deepseek-prover-v1.5"):  # the --preset flag comes after the file
        gen = load_settings(path).generate
    assert (gen.templates, gen.prompt_format, gen.max_tokens) == ("deepseek-prover-v1.5", "plain", 2048)
    assert load_settings(path).generate.templates == "kimina-prover"
    path.write_text('[generate]\npreset = "nope"\n')
    with pytest.raises(ValueError, match="unknown preset 'nope'"):
        load_settings(path)


@pytest.mark.parametrize("command", [
    ["eval", "--benchmark", "minif2f-lean4", "--split", "test", "--engine", "model", "--model", "m"],
    ["prove", "--engine", "model", "--model", "m", "x.lean"],
    ["selfplay"],
])
def test_unknown_preset_is_one_line_exit_2(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from prover.cli import main

    assert main([*command, "--preset", "unknown"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("prover: error: --preset: unknown preset 'unknown'; presets: ")
    assert all(name in err for name in PRESETS)


def test_the_eval_run_hash_tells_prompts_apart() -> None:
    from prover.evaluate.benchmarks import get_benchmark
    from prover.evaluate.run import EvalConfig

    bench = get_benchmark("minif2f-lean4")
    plain = EvalConfig("minif2f-lean4", "test", engine="model", model="m", max_tokens=512)
    preset = EvalConfig("minif2f-lean4", "test", engine="model", model="m", max_tokens=512,
                        prompts="goedel-prover-v2/chat")
    assert "prompts" not in plain.run_config(bench, 0, "b")  # existing runs keep their hashes
    assert preset.run_config(bench, 0, "b")["prompts"] == "goedel-prover-v2/chat"


# -- the answer after a thinking section ------------------------------------------------------------

CODE = f"```lean4\n{HEADER}{THEOREM}\n  omega\n```"


def test_thinking_section_is_dropped() -> None:
    answer = f"<think>\nTry simp?\n```lean4\ntheorem draft := by simp\n```\nNo.\n</think>\nPlan: omega.\n{CODE}"
    thought = split_thinking(answer)
    assert thought.answer == f"Plan: omega.\n{CODE}" and not thought.truncated
    assert thought.thinking.startswith("Try simp?") and "draft" not in thought.answer
    # A template whose generation prompt opened the section: only the closing tag is in the answer.
    assert split_thinking(f"reasoning\n</think>\n\n{CODE}", opened=True).answer == CODE
    assert split_thinking(CODE) == split_thinking(CODE, opened=False)
    assert split_thinking(CODE).answer == CODE and split_thinking(CODE).thinking == ""


def test_cut_off_while_thinking() -> None:
    cut = split_thinking("<think>\nLet me think about the induction step and")
    assert cut.truncated and cut.answer == "" and cut.thinking.startswith("Let me think")
    assert split_thinking("still thinking, no tags", opened=True).truncated
    # Cut off after a complete code block: that block is the attempt the verifier judges.
    late = split_thinking(f"<think>\nFirst attempt:\n{CODE}\nbut maybe")
    assert not late.truncated and CODE in late.answer
