"""The per-round report of a self-play run: a plain-text table and a PNG plot (matplotlib), both
made from the round metrics kept in the store."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

COLUMNS = (
    ("round", "round", "{}"),
    ("targets proved", "targets_proved", "{}"),
    ("by the model", "targets_proved_by_model", "{}"),
    ("model pass", "target_pass_rate", "{:.2f}"),
    ("conj. made", "conjectures_generated", "{}"),
    ("kept", "conjectures_kept", "{}"),
    ("selected", "conjectures_selected", "{}"),
    ("examples", "examples", "{}"),
    ("loss", "train_loss", "{:.3f}"),
    ("held-out before", "heldout_before", "{}"),
    ("held-out after", "heldout_after", "{}"),
    ("tokens", "tokens", "{}"),
    ("wall s", "wall_s", "{:.0f}"),
)


def table(rows: Sequence[dict[str, Any]]) -> str:
    """The round metrics as an aligned plain-text table."""
    header = [title for title, _, _ in COLUMNS]
    body = [[_cell(row, key, fmt) for _, key, fmt in COLUMNS] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(header)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in body)
    return "\n".join(lines)


def _cell(row: dict[str, Any], key: str, fmt: str) -> str:
    value = row.get(key)
    if value is None:
        return "-"
    if isinstance(value, dict):  # {"proved": p, "total": t}
        return f"{value['proved']}/{value['total']}"
    return fmt.format(value)


def plot(rows: Sequence[dict[str, Any]], path: Path) -> Path:
    """Targets proved and held-out problems proved by the model alone, per round."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rounds = [0] + [r["round"] for r in rows]
    heldout = [rows[0]["heldout_before"]["proved"]] + [r["heldout_after"]["proved"] for r in rows]
    total = rows[0]["heldout_before"]["total"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    left.plot(rounds, heldout, marker="o")
    left.set(title=f"held-out, model alone (of {total})", xlabel="after round", ylabel="proved",
             xticks=rounds, ylim=(0, max(total, 1)))
    left.yaxis.get_major_locator().set_params(integer=True)
    numbers = [r["round"] for r in rows]
    right.bar([n - 0.2 for n in numbers], [r["targets_proved"] for r in rows], width=0.4,
              label="targets proved so far")
    right.bar([n + 0.2 for n in numbers], [r["targets_proved_by_model"] for r in rows], width=0.4,
              label="targets the model proved", color="C9")
    right.plot([r["round"] for r in rows], [r["conjectures_kept"] for r in rows], marker="s", color="C1",
               label="conjectures kept")
    right.plot([r["round"] for r in rows], [r["conjectures_selected"] for r in rows], marker="^", color="C2",
               label="conjectures selected")
    right.set(title="per round", xlabel="round", xticks=numbers)
    right.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
