"""``prover train`` (supervised fine-tuning, ``sft.py``) and ``prover model init`` (the small model
this project makes itself, ``model_init.py``).

``add_parsers(sub, common)`` adds both subcommands to the main parser; their ``func`` raises
``UsageError`` (one line, exit 2) for bad input. ``main(argv)`` runs them on their own, with the
same exit codes as the ``prover`` command line.
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from prover.cli.common import UsageError, run_command

# Used when neither --corpus nor a repository checkout is at hand (an installed package): a few
# proofs in the style the project proves, so the tokenizer still learns Rocq's common words.
SHIPPED_PROOFS = (
    "Require Import Arith Lia.\n\nTheorem add_le (n : nat) : n + 1 <= n + 10.\nProof.\n  intros.\n"
    "  lia.\nQed.\n",
    "Require Import ZArith Lia.\nOpen Scope Z_scope.\n\nTheorem lin_sys (x y : Z) (h0 : x + y = 10) "
    "(h1 : x - y = 2) : x = 6.\nProof.\n  lia.\nQed.\n",
    "Require Import Reals Lra.\nOpen Scope R_scope.\n\nTheorem r_lin (x : R) (h0 : 2 * x + 3 = 7) : "
    "x = 2.\nProof.\n  lra.\nQed.\n",
    "Require Import List Arith.\nImport ListNotations.\n\nTheorem len : length [1; 2; 3] = 3.\nProof.\n"
    "  reflexivity.\nQed.\n",
    "Require Import Arith.\n\nTheorem n_even_double (n : nat) : Nat.even (2 * n) = true.\nProof.\n"
    "  induction n as [| k IH].\n  - reflexivity.\n  - replace (2 * S k) with (S (S (2 * k))) by ring.\n"
    "    exact IH.\nQed.\n",
    "Theorem and_swap : forall P Q : Prop, P /\\ Q -> Q /\\ P.\nProof.\n  intros P Q [HP HQ].\n"
    "  split; assumption.\nQed.\n",
    "Require Import Arith Lia.\n\nTheorem sq (n : nat) (h0 : 3 <= n) : 3 * n <= n * n.\nProof.\n"
    "  nia.\nQed.\n",
)
# (flag, type, default, metavar, help) of prover train's numeric settings
_TRAIN_FLAGS: tuple[tuple[str, type, Any, str, str], ...] = (
    ("--epochs", float, 1.0, "E", "passes over the data (default 1; fractions allowed)"),
    ("--max-steps", int, 0, "N", "optimizer steps; overrides --epochs (default 0: from --epochs)"),
    ("--lr", float, 5e-5, "LR", "peak learning rate (default 5e-5)"),
    ("--batch-size", int, 8, "B", "examples per forward pass (default 8)"),
    ("--grad-accum", int, 1, "G", "forward passes per optimizer step (default 1)"),
    ("--max-length", int, 1024, "T", "tokens per example; longer ones are cut at the end (default 1024)"),
    ("--warmup", float, 0.0, "R", "fraction of the steps with a linearly rising learning rate (default 0)"),
    ("--weight-decay", float, 0.0, "W", "AdamW weight decay (default 0)"),
    ("--seed", int, 0, "S", "seed of the data order, dropout and LoRA's initial weights (default 0)"),
    ("--save-every", int, 0, "N", "write a checkpoint every N steps (default 0: only at the end)"),
    ("--lora-r", int, 16, "R", "LoRA rank (default 16)"),
    ("--lora-alpha", int, 32, "A", "LoRA alpha (default 32)"),
    ("--threads", int, None, "N", "torch CPU threads (default: min(4, cores))"),
)
_INIT_FLAGS: tuple[tuple[str, int, str, str], ...] = (
    ("--vocab-size", 512, "V", "tokenizer vocabulary, at least 260 (default 512)"),
    ("--layers", 2, "L", "decoder layers (default 2)"),
    ("--dim", 64, "D", "hidden size (default 64)"),
    ("--heads", 2, "H", "attention heads; must divide --dim (default 2)"),
    ("--positions", 1024, "P", "longest sequence in tokens (default 1024)"),
)
# TrainConfig's field names in error messages, as the command line calls them
_FLAG_OF = {"learning_rate": "--lr", "warmup_ratio": "--warmup", "batch_size": "--batch-size",
            "grad_accum": "--grad-accum", "max_length": "--max-length", "max_steps": "--max-steps",
            "save_every": "--save-every", "weight_decay": "--weight-decay", "lora_r": "--lora-r",
            "lora_alpha": "--lora-alpha", "epochs": "--epochs", "threads": "--threads", "device": "--device"}


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def add_parsers(sub: Any, common: argparse.ArgumentParser | None = None) -> None:
    """Add ``train`` and ``model init`` to the subparsers ``sub``."""
    parents = [common] if common is not None else []
    tr = sub.add_parser(
        "train", parents=parents, help="fine-tune a model on (prompt, completion) examples",
        description="Supervised fine-tuning: the loss covers the completion tokens only, each completion "
        "ends in the end-of-sequence token. Checkpoints (model, optimizer, scheduler and RNG state) go "
        "to OUT/checkpoint-STEP/ every --save-every steps and at the end; OUT/ holds the final model "
        "(LoRA merged in), loadable with from_pretrained, plus train_log.jsonl and train_result.json. "
        "Exit 0 when trained, 2 for bad input.",
    )
    tr.add_argument("--data", type=Path, required=True, metavar="FILE_OR_DIR",
                    help="a JSONL file or a datasets.save_to_disk folder of records: {prompt, completion}, "
                    "or {language, statement, proof} (rendered with the prover prompt), or {kind: "
                    "conjecturer, language, seed_statement, seed_proof, lemma, proof}; optional weight")
    tr.add_argument("--model", required=True, metavar="PATH_OR_ID",
                    help="the model to start from: a local folder or a Hugging Face id")
    tr.add_argument("--out", type=Path, required=True, metavar="DIR",
                    help="where the checkpoints, the final model and the logs go")
    for flag, kind, default, metavar, text in _TRAIN_FLAGS:
        tr.add_argument(flag, type=kind, default=default, metavar=metavar, help=text)
    tr.add_argument("--lora", action="store_true",
                    help="train LoRA adapters instead of all weights (needs peft); merged on save")
    tr.add_argument("--resume", action="store_true",
                    help="continue from the newest checkpoint in OUT (a fresh start when there is none)")
    tr.add_argument("--device", default="auto", metavar="D",
                    help="auto (default: cuda when available), cpu, cuda, cuda:N")
    tr.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16"],
                    help="auto (default): bfloat16 on a GPU, float32 on the CPU")
    tr.add_argument("--templates", default="default", metavar="NAME_OR_TOML",
                    help="prompt templates for records given as statement and proof (default: default)")
    tr.add_argument("--prompt-format", default="auto", choices=["auto", "plain", "chat"],
                    help="how those prompts are rendered: auto (default: chat when the tokenizer has a chat "
                    "template), plain, chat; use what the model engine will use")
    tr.add_argument("--quiet", action="store_true", help="no progress bar")
    tr.set_defaults(func=cmd_train)

    model = sub.add_parser("model", parents=parents, help="make a model (model init)",
                           description="Model management. init: the small model this project makes itself.")
    actions = model.add_subparsers(dest="model_action", required=True, metavar="ACTION")
    init = actions.add_parser(
        "init", parents=parents, help="train a byte-level BPE tokenizer and save a small random GPT-2",
        description="Train a byte-level BPE tokenizer on a corpus of proof texts and save it with a "
        "randomly initialised GPT-2-style decoder to OUT (loadable with from_pretrained); prover "
        "train teaches it. Default corpus: the repository's own proofs (data/rocq-demo/proofs, "
        "tests/adversarial/rocq/proofs/good_*.v) when a checkout is found, else a few proofs and the "
        "prompt templates shipped in the package. Exit 0, 2 for bad input.",
    )
    init.add_argument("--out", type=Path, required=True, metavar="DIR",
                      help="where the model goes (must not hold one)")
    init.add_argument("--corpus", nargs="+", metavar="FILE_OR_GLOB",
                      help="text files for the tokenizer (globs allowed; quote them)")
    for flag, default, metavar, text in _INIT_FLAGS:
        init.add_argument(flag, type=_positive_int, default=default, metavar=metavar, help=text)
    init.add_argument("--seed", type=int, default=0, metavar="S",
                      help="seed of the initial weights (default 0)")
    init.set_defaults(func=cmd_model_init)


def cmd_train(args: argparse.Namespace) -> int:
    from prover.train.examples import load_examples
    from prover.train.sft import TrainConfig, newest_checkpoint, train

    config = TrainConfig(
        epochs=args.epochs, max_steps=args.max_steps, learning_rate=args.lr, batch_size=args.batch_size,
        grad_accum=args.grad_accum, max_length=args.max_length, warmup_ratio=args.warmup,
        weight_decay=args.weight_decay, seed=args.seed, save_every=args.save_every, lora=args.lora,
        lora_r=args.lora_r, lora_alpha=args.lora_alpha, dtype=args.dtype, device=args.device,
        threads=args.threads,
    )
    try:
        config.validate()
    except ValueError as exc:
        message = str(exc)
        for name, flag in _FLAG_OF.items():
            message = message.replace(name, flag)
        raise UsageError(message) from exc
    if not args.data.exists():
        raise UsageError(f"--data {args.data}: no such file or folder")
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} is a file")
    if not args.resume and args.out.is_dir() and newest_checkpoint(args.out) is not None:
        raise UsageError(f"--out {args.out} holds checkpoints: pass --resume to continue, or another --out")
    try:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(args.model)
    except (OSError, ValueError) as exc:
        why = str(exc).splitlines()[0]
        raise UsageError(f"cannot load the tokenizer of --model {args.model}: {why}") from exc
    try:
        examples = load_examples(args.data, args.templates, tokenizer, args.prompt_format)
        if not examples:
            raise UsageError(f"--data {args.data} holds no examples")
        result = train(examples, args.model, args.out, config, resume=args.resume, progress=not args.quiet)
    except ValueError as exc:
        raise UsageError(str(exc).splitlines()[0]) from exc
    loss = "n/a" if result.final_loss is None else f"{result.final_loss:.4f}"
    print(f"trained {result.steps} steps on {result.examples} examples in {result.time_s:.1f} s, final loss "
          f"{loss}; model in {result.out_dir}")
    return 0


def default_corpus(roots: Sequence[Path] | None = None) -> tuple[list[str], str]:
    """The tokenizer corpus when none is given, and a sentence saying what it is: the repository's
    proofs under the first of ``roots`` that has them (default: the checkout this package lives in,
    then the current folder), else the proofs and prompt templates shipped in the package."""
    from prover.train.model_init import project_corpus

    for root in roots if roots is not None else (Path(__file__).resolve().parents[2], Path.cwd()):
        texts = project_corpus(root)
        if texts:
            return texts, f"the project corpus: {len(texts)} proof files under {root}"
    folder = resources.files("prover.generate") / "templates"
    templates = [p.read_text() for p in folder.iterdir() if p.name.endswith(".toml")]
    return [*SHIPPED_PROOFS, *templates], (
        f"no repository checkout found: the {len(SHIPPED_PROOFS)} proofs and {len(templates)} prompt "
        "template files shipped in the package (pass --corpus for a better tokenizer)"
    )


def corpus_files(patterns: Sequence[str]) -> list[Path]:
    """The files named by ``patterns`` (paths or globs), in order, each once; raises ``UsageError``
    for a pattern that matches no file."""
    files: list[Path] = []
    for pattern in patterns:
        magic = glob.has_magic(pattern)
        matched = [Path(p) for p in sorted(glob.glob(pattern, recursive=True))] if magic else [Path(pattern)]
        matched = [p for p in matched if p.is_file()]
        if not matched:
            raise UsageError(f"--corpus {pattern}: no such file")
        files.extend(p for p in matched if p not in files)
    return files


def cmd_model_init(args: argparse.Namespace) -> int:
    from transformers.utils import logging as hf_logging

    from prover.train.model_init import init_model

    if args.vocab_size < 260:
        raise UsageError(f"--vocab-size must be at least 260 (the 256 bytes and the special tokens), "
                         f"not {args.vocab_size}")
    if args.dim % args.heads:
        raise UsageError(f"--heads {args.heads} must divide --dim {args.dim}")
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} is a file")
    if (args.out / "config.json").exists():
        raise UsageError(f"--out {args.out} already holds a model; choose another folder")
    if args.corpus:
        files = corpus_files(args.corpus)
        try:
            texts = [p.read_text(encoding="utf-8") for p in files]
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read the corpus: {exc}") from exc
        what = f"{len(files)} corpus file(s) from --corpus"
    else:
        texts, what = default_corpus()
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # a bar to save one file
    try:
        init_model(args.out, texts, vocab_size=args.vocab_size, n_layer=args.layers, n_embd=args.dim,
                   n_head=args.heads, n_positions=args.positions, seed=args.seed)
    except ValueError as exc:
        raise UsageError(f"{exc} ({what})") from exc
    vocab = json.loads((args.out / "config.json").read_text()).get("vocab_size")
    print(f"tokenizer trained on {what}", file=sys.stderr)
    print(f"model saved to {args.out}: {args.layers} layers, dim {args.dim}, {args.heads} heads, "
          f"vocabulary {vocab}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="prover", description="prover train and prover model init")
    add_parsers(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``train`` or ``model init`` from ``argv``; the exit codes of the ``prover`` command line."""
    return run_command(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
