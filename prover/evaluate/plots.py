"""PNG plots of an eval result with matplotlib (an optional dependency): pass@k against k, and the
solve rate per category. ``require_matplotlib`` raises ``ValueError`` (one line) where it is
missing, so a run can refuse ``--plot-dir`` before it starts rather than after hours of work."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ValueError("--plot-dir needs matplotlib (pip install matplotlib)") from exc


def write_plots(report: dict[str, Any], folder: Path) -> list[Path]:
    """Write ``pass_at_k.png`` and ``categories.png`` into ``folder``; returns their paths."""
    require_matplotlib()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    cfg = report["config"]
    title = f"{cfg['benchmark']} ({cfg['split']}), {cfg['engine']}, budget {cfg['budget_s']:g} s"

    curve = sorted((int(k), v) for k, v in report["pass_at_k_curve"].items())
    spread = report.get("pass_at_k_curve_std", {})
    ks = [k for k, _ in curve]
    errors = [100 * (spread.get(str(k)) or 0.0) for k in ks]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.errorbar(ks, [100 * v for _, v in curve], yerr=errors if any(errors) else None, marker="o", capsize=3)
    ax.set_xscale("log", base=2)
    ticks = [k for k in ks if k & (k - 1) == 0 or k == ks[-1]]
    ax.set_xticks(ticks, [str(k) for k in ticks])
    ax.set_xlim(0.8, max(ks) * 1.25)
    ax.set_xlabel("k")
    ax.set_ylabel("pass@k (%)")
    ax.set_ylim(0, 100)
    ax.set_title(title, fontsize=9)
    ax.grid(True, alpha=0.3)
    passk_path = folder / "pass_at_k.png"
    fig.tight_layout()
    fig.savefig(passk_path, dpi=120)
    plt.close(fig)

    cats = report["categories"]
    names = list(cats)
    rates = [100 * cats[c]["solved"] / cats[c]["total"] if cats[c]["total"] else 0.0 for c in names]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.8 * len(names) + 2), 4))
    bars = ax.bar(names, rates)
    for bar, c in zip(bars, names, strict=True):
        ax.annotate(
            f"{cats[c]['solved']}/{cats[c]['total']}",
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center", va="bottom", fontsize=8,
        )
    ax.set_ylabel("solved (%)")
    ax.set_ylim(0, 105)
    ax.set_title(title, fontsize=9)
    ax.tick_params(axis="x", labelrotation=30)
    category_path = folder / "categories.png"
    fig.tight_layout()
    fig.savefig(category_path, dpi=120)
    plt.close(fig)
    return [passk_path, category_path]
