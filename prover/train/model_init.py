"""The small model this project makes itself: a byte-level BPE tokenizer trained with ``tokenizers``
on the project's own proof texts and a small GPT-2-style decoder, saved with ``save_pretrained``.

It is what the CPU default, the tests and the self-play loop use where no real checkpoint is at
hand: ``AutoTokenizer.from_pretrained(dir)`` and ``AutoModelForCausalLM.from_pretrained(dir)`` load
it through the same code path a real checkpoint takes. Freshly made, its weights are random;
``prover train`` teaches it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

EOS = "<|endoftext|>"
PAD = "<|pad|>"
# A minimal chat template in the usual Jinja form, for testing the chat path on the small model.
SIMPLE_CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
# Proof files the project ships, relative to the repository root: the default training corpus.
CORPUS_GLOBS = ("data/rocq-demo/proofs/*.v", "tests/adversarial/rocq/proofs/good_*.v")


def project_corpus(root: Path) -> list[str]:
    """The project's own proof texts under ``root`` (a repository checkout)."""
    return [p.read_text() for pattern in CORPUS_GLOBS for p in sorted(root.glob(pattern))]


def init_model(
    out_dir: Path,
    corpus_texts: Sequence[str],
    vocab_size: int = 512,
    n_layer: int = 2,
    n_embd: int = 64,
    n_head: int = 2,
    n_positions: int = 1024,
    seed: int = 0,
    chat_template: str | None = None,
) -> Path:
    """Train the tokenizer on ``corpus_texts``, create a randomly initialised decoder, and save both
    to ``out_dir``. Returns ``out_dir``. Raises ``ValueError`` for an empty corpus."""
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    texts = [t for t in corpus_texts if t.strip()]
    if not texts:
        raise ValueError("the tokenizer corpus is empty")
    bpe = ByteLevelBPETokenizer()
    # The byte alphabet is always in the vocabulary, so any text (Lean's Unicode included)
    # tokenizes even though the corpus is Rocq.
    bpe.train_from_iterator(_lines(texts), vocab_size=vocab_size, min_frequency=2, special_tokens=[EOS, PAD],
                            show_progress=False)
    tokenizer = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=bpe, bos_token=EOS, eos_token=EOS, unk_token=EOS, pad_token=PAD
    )
    if chat_template is not None:
        tokenizer.chat_template = chat_template
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=n_positions,
        n_embd=n_embd,
        n_layer=n_layer,
        n_head=n_head,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)  # the same corpus and seed make the same model
    model = GPT2LMHeadModel(config)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir


def _lines(texts: Iterable[str]) -> Iterable[str]:
    for text in texts:
        yield from text.splitlines(keepends=True)
