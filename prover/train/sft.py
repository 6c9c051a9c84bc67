"""Supervised fine-tuning of a causal language model on (prompt, completion) examples.

A plain torch loop rather than ``transformers.Trainer``: the loss covers the completion tokens only
(the prompt's are masked with -100), each completion ends in the end-of-sequence token, and the data
order is a pure function of (seed, epoch), so a run resumed from a checkpoint continues exactly as
an uninterrupted one would (model, optimizer, scheduler and RNG state are all restored). LoRA through
``peft`` is optional and merged into the weights on save, so the output always loads with plain
``AutoModelForCausalLM.from_pretrained``.

Layout of ``out/``: the final model and tokenizer, ``checkpoint-STEP/`` folders (each written to a
temporary folder and renamed, so a crash never leaves half a checkpoint), ``train_log.jsonl`` (one
line per step) and ``train_result.json``.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from prover.generate.base import default_threads
from prover.train.examples import Example

_STATE = "trainer_state.pt"
_CONFIG = "train_config.json"
_LOG = "train_log.jsonl"


@dataclass
class TrainConfig:
    epochs: float = 1.0
    max_steps: int = 0  # optimizer steps; 0: as many as ``epochs`` take
    learning_rate: float = 5e-5
    batch_size: int = 8  # examples per forward pass
    grad_accum: int = 1  # forward passes per optimizer step
    max_length: int = 1024  # tokens per example; longer ones are cut at the end
    warmup_ratio: float = 0.0
    weight_decay: float = 0.0
    seed: int = 0
    save_every: int = 0  # steps between checkpoints; 0: only at the end
    lora: bool = False
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    dtype: str = "auto"  # auto (bfloat16 on a GPU, float32 on the CPU), float32, bfloat16
    device: str = "auto"  # auto, cpu, cuda (or cuda:N)
    threads: int | None = None  # torch CPU threads; None: default_threads()
    max_grad_norm: float = 1.0

    def validate(self) -> None:
        """Raises ``ValueError`` with a one-line message."""
        positive = {"batch_size": self.batch_size, "grad_accum": self.grad_accum, "lora_r": self.lora_r,
                    "max_length": self.max_length, "learning_rate": self.learning_rate,
                    "lora_alpha": self.lora_alpha}
        for name, value in positive.items():
            if not value > 0:
                raise ValueError(f"{name} must be positive, not {value}")
        if self.max_steps < 0 or self.save_every < 0 or self.weight_decay < 0 or self.max_grad_norm < 0:
            raise ValueError("max_steps, save_every, weight_decay and max_grad_norm must not be negative")
        if self.max_steps == 0 and not self.epochs > 0:
            raise ValueError(f"epochs must be positive, not {self.epochs}")
        if not 0 <= self.warmup_ratio < 1 or not 0 <= self.lora_dropout < 1:
            raise ValueError("warmup_ratio and lora_dropout must be in [0, 1)")
        if self.dtype not in ("auto", "float32", "bfloat16"):
            raise ValueError(f"dtype must be auto, float32 or bfloat16, not {self.dtype!r}")
        if self.device != "auto" and self.device != "cpu" and not self.device.startswith("cuda"):
            raise ValueError(f"device must be auto, cpu or cuda, not {self.device!r}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be at least 1, not {self.threads}")


@dataclass
class TrainResult:
    steps: int
    final_loss: float | None
    losses: list[float] = field(default_factory=list)  # per optimizer step, from step 1
    out_dir: str = ""
    time_s: float = 0.0  # this call's wall time (a resumed run counts from the resume)
    examples: int = 0  # examples trained on (after dropping those with no completion token left)


@dataclass
class _Feature:
    ids: list[int]
    labels: list[int]
    weight: float


def newest_checkpoint(out_dir: Path) -> Path | None:
    """The complete ``checkpoint-STEP`` folder in ``out_dir`` with the highest step, if any."""
    found = []
    for path in Path(out_dir).glob("checkpoint-*"):
        step = path.name.removeprefix("checkpoint-")
        if step.isdigit() and (path / _STATE).is_file():
            found.append((int(step), path))
    return max(found)[1] if found else None


def tokenize(examples: Sequence[Example], tokenizer: Any, max_length: int) -> list[_Feature]:
    """Prompt and completion tokenized apart, as at inference (the generator tokenizes the prompt
    alone and the model writes the completion's tokens after it); examples whose completion is cut
    off entirely are dropped."""
    eos = tokenizer.eos_token_id
    if eos is None:
        raise ValueError("the tokenizer has no end-of-sequence token")
    bos = tokenizer.bos_token
    features = []
    for ex in examples:
        special = not (bos and ex.prompt.startswith(bos))  # the same rule as generate/hf.py
        prompt = tokenizer(ex.prompt, add_special_tokens=special)["input_ids"]
        completion = [*tokenizer(ex.completion, add_special_tokens=False)["input_ids"], eos]
        ids = (prompt + completion)[:max_length]
        labels = ([-100] * len(prompt) + completion)[:max_length]
        if ex.weight > 0 and any(t != -100 for t in labels[1:]):
            features.append(_Feature(ids, labels, ex.weight))
    return features


def _load(model: str, config: TrainConfig, checkpoint: Path | None, torch: Any) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dtype = config.dtype
    device = config.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("device cuda was asked for but torch sees no GPU")
    if dtype == "auto":
        dtype = "bfloat16" if device.startswith("cuda") else "float32"
    source = checkpoint if checkpoint is not None and not config.lora else model
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(source))
        net: Any = AutoModelForCausalLM.from_pretrained(str(source), dtype=getattr(torch, dtype))
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot load model {str(source)!r}: {str(exc).splitlines()[0]}") from None
    if config.lora:
        try:
            from peft import LoraConfig, PeftModel, get_peft_model
        except ImportError:
            raise ValueError("--lora needs the peft package (pip install peft)") from None
        if checkpoint is not None:
            net = PeftModel.from_pretrained(net, str(checkpoint), is_trainable=True)
        else:

            def lora(targets: Any) -> Any:
                return LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, target_modules=targets,
                                  lora_dropout=config.lora_dropout, task_type="CAUSAL_LM")

            try:
                net = get_peft_model(net, lora(None))
            except ValueError:  # peft knows no default target modules for this architecture
                net = get_peft_model(net, lora("all-linear"))
    return net.to(device), tokenizer


def _schedule(total: int, warmup: int) -> Any:
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total - step) / max(1, total - warmup))

    return factor


def _batch(features: Sequence[_Feature], pad: int, torch: Any, device: Any) -> tuple[Any, Any, Any, Any]:
    width = max(len(f.ids) for f in features)
    ids = torch.full((len(features), width), pad, dtype=torch.long)
    labels = torch.full((len(features), width), -100, dtype=torch.long)
    mask = torch.zeros((len(features), width), dtype=torch.long)
    for i, f in enumerate(features):
        ids[i, : len(f.ids)] = torch.tensor(f.ids)
        labels[i, : len(f.labels)] = torch.tensor(f.labels)
        mask[i, : len(f.ids)] = 1
    weights = torch.tensor([f.weight for f in features], dtype=torch.float32)
    return ids.to(device), labels.to(device), mask.to(device), weights.to(device)


def _check_compatible(checkpoint: Path, model: str, config: TrainConfig) -> None:
    """A checkpoint continues only the run that wrote it: LoRA or not (and the adapter's base model),
    the same data order."""
    try:
        meta = json.loads((checkpoint / _CONFIG).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read {checkpoint / _CONFIG}: {exc}") from None
    old = meta.get("config", {})
    for name in ("lora", "seed", "batch_size", "grad_accum"):
        if old.get(name) != getattr(config, name):
            now = getattr(config, name)
            raise ValueError(f"{checkpoint} was trained with {name} {old.get(name)}, not {now}")
    base = str(meta.get("model"))
    if config.lora and base != model and Path(base).resolve() != Path(model).resolve():
        raise ValueError(f"{checkpoint} holds an adapter of {base}, not of {model}")


def _fresh(tmp: Path) -> Path:
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    return tmp


def _save_checkpoint(out: Path, step: int, net: Any, tokenizer: Any, state: dict[str, Any],
                     meta: dict[str, Any], torch: Any) -> None:
    tmp = _fresh(out / f".checkpoint-{step}.tmp")
    net.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    torch.save(state, tmp / _STATE)
    (tmp / _CONFIG).write_text(json.dumps({**meta, "step": step}, indent=1) + "\n")
    final = out / f"checkpoint-{step}"
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)


def _save_final(out: Path, net: Any, tokenizer: Any, lora: bool) -> None:
    tmp = _fresh(out / ".final.tmp")
    # Merged, so that the output needs neither peft nor the base model to load.
    (net.merge_and_unload() if lora else net).save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    for f in tmp.iterdir():
        os.replace(f, out / f.name)
    tmp.rmdir()


def train(examples: Sequence[Example], model: str, out_dir: Path, config: TrainConfig | None = None,
          resume: bool = False, progress: bool = True) -> TrainResult:
    """Fine-tune ``model`` (a local folder or a Hugging Face id) on ``examples`` into ``out_dir``
    (see the module's docstring). ``resume``: continue from the newest checkpoint in ``out_dir``
    (a fresh start when there is none). Raises ``ValueError`` for bad settings or data."""
    from transformers.utils import logging as hf_logging

    # transformers draws a bar for every save and load; only the training bar says anything here.
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        return _train(examples, model, Path(out_dir), config or TrainConfig(), resume, progress)
    finally:
        if bars:
            hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]


def _train(examples: Sequence[Example], model: str, out: Path, config: TrainConfig, resume: bool,
           progress: bool) -> TrainResult:
    import torch
    from tqdm import tqdm

    config.validate()
    if not examples:
        raise ValueError("no training examples")
    started = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(config.threads or default_threads())
    checkpoint = newest_checkpoint(out) if resume else None
    torch.manual_seed(config.seed)
    net, tokenizer = _load(model, config, checkpoint, torch)
    device = next(net.parameters()).device
    features = tokenize(examples, tokenizer, config.max_length)
    if not features:
        raise ValueError("no example has a completion token within max_length")
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    per_epoch = math.ceil(len(features) / config.batch_size)
    total = config.max_steps or max(1, math.ceil(config.epochs * per_epoch / config.grad_accum))
    decay = [p for p in net.parameters() if p.requires_grad and p.ndim >= 2]
    no_decay = [p for p in net.parameters() if p.requires_grad and p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=config.learning_rate,
    )
    warmup = int(config.warmup_ratio * total)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(total, warmup))
    meta = {"model": model, "config": asdict(config), "examples": len(features), "total_steps": total}

    step, losses = 0, []
    log_lines: list[str] = []
    if checkpoint is not None:
        _check_compatible(checkpoint, model, config)
        state = torch.load(checkpoint / _STATE, weights_only=True)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step, losses = int(state["step"]), list(state["losses"])
        # Restored last: loading the model may itself draw random numbers.
        torch.set_rng_state(state["rng"])
        if state.get("cuda_rng") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        if (out / _LOG).exists():
            old = (out / _LOG).read_text().splitlines()
            log_lines = [ln for ln in old if ln.strip() and json.loads(ln)["step"] <= step]
    (out / _LOG).write_text("".join(ln + "\n" for ln in log_lines))

    def order(epoch: int) -> list[int]:
        gen = torch.Generator().manual_seed(config.seed * 1_000_003 + epoch)
        perm: list[int] = torch.randperm(len(features), generator=gen).tolist()
        return perm

    orders: dict[int, list[int]] = {}

    def micro_batch(index: int) -> list[_Feature]:
        epoch, pos = divmod(index, per_epoch)
        if epoch not in orders:
            orders.clear()
            orders[epoch] = order(epoch)
        chosen = orders[epoch][pos * config.batch_size : (pos + 1) * config.batch_size]
        return [features[i] for i in chosen]

    def save(at: int) -> None:
        state = {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "step": at,
                 "losses": losses, "rng": torch.get_rng_state(),
                 "cuda_rng": torch.cuda.get_rng_state_all() if device.type == "cuda" else None}
        _save_checkpoint(out, at, net, tokenizer, state, meta, torch)

    bar = tqdm(total=total, initial=step, unit="step", file=sys.stderr, disable=not progress,
               dynamic_ncols=True, desc="train")
    net.train()
    with bar, (out / _LOG).open("a") as log:
        while step < total:
            batches = [micro_batch(step * config.grad_accum + j) for j in range(config.grad_accum)]
            # The step's loss is the weighted mean over all its completion tokens, however they fall
            # into micro-batches.
            denom = sum(f.weight * sum(t != -100 for t in f.labels[1:]) for b in batches for f in b)
            optimizer.zero_grad(set_to_none=True)
            step_loss = 0.0
            for b in batches:
                ids, labels, mask, weights = _batch(b, pad, torch, device)
                logits = net(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
                target = labels[:, 1:]
                per_token = torch.nn.functional.cross_entropy(
                    logits.reshape(-1, logits.shape[-1]), target.reshape(-1), reduction="none"
                ).view(target.shape)  # -100 is cross_entropy's default ignore_index: those count 0
                loss = (per_token * weights[:, None]).sum() / denom
                loss.backward()
                step_loss += float(loss.detach())
            if config.max_grad_norm > 0:
                torch.nn.utils.clip_grad_norm_(
                    [p for p in net.parameters() if p.requires_grad], config.max_grad_norm
                )
            lr = scheduler.get_last_lr()[0]
            optimizer.step()
            scheduler.step()
            step += 1
            losses.append(step_loss)
            epoch = step * config.grad_accum / per_epoch
            line = {"step": step, "loss": round(step_loss, 6), "lr": lr, "epoch": round(epoch, 4),
                    "time_s": round(time.monotonic() - started, 3)}
            log.write(json.dumps(line) + "\n")
            log.flush()
            bar.set_postfix(loss=f"{step_loss:.4f}", epoch=f"{epoch:.2f}", refresh=False)
            bar.update(1)
            if step == total or (config.save_every and step % config.save_every == 0):
                save(step)
    net.eval()
    _save_final(out, net, tokenizer, config.lora)
    final = losses[-1] if losses else None
    result = TrainResult(step, final, losses, str(out), time.monotonic() - started, len(features))
    (out / "train_result.json").write_text(json.dumps(asdict(result), indent=1) + "\n")
    return result
