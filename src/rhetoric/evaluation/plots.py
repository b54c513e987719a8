"""PNG plots for people (DVC renders its own from the CSVs beside them)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from rhetoric.io import atomic_path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_confusion_png(confusion: pd.DataFrame, path: Path, title: str) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.imshow(confusion.to_numpy(), cmap="Blues")
    ax.set_xticks(range(len(confusion.columns)), confusion.columns, rotation=30, ha="right")
    ax.set_yticks(range(len(confusion.index)), confusion.index)
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    peak = confusion.to_numpy().max() or 1
    for i, row in enumerate(confusion.to_numpy()):
        for j, value in enumerate(row):
            ax.text(
                j, i, str(value), ha="center", va="center", color="white" if value > peak / 2 else "black"
            )
    ax.set_title(title)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def save_reliability_png(table: pd.DataFrame, path: Path, ece: float) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    ax.plot(table["confidence"], table["accuracy"], marker="o", label="model")
    ax.set_xlabel("predicted probability of the chosen label")
    ax.set_ylabel("share correct")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title(f"Reliability (ECE {ece:.3f})")
    ax.legend(loc="upper left")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def save_per_class_f1_png(
    per_class: dict[str, dict[str, float]], path: Path, colours: dict[str, str]
) -> None:
    plt = _pyplot()
    labels = list(per_class)
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.barh(
        labels,
        [per_class[label]["f1"] for label in labels],
        color=[colours.get(label, "#888888") for label in labels],
    )
    ax.set_xlim(0, 1)
    ax.set_xlabel("F1 on the test documents")
    ax.invert_yaxis()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def month_tick_step(months: int, most: int = 12) -> int:
    """Months between ticks: the smallest of 1, 2, 3, 4, 6, 12 (then whole years) that
    puts at most `most` ticks on a span of `months`.

    >>> [month_tick_step(n) for n in (6, 12, 24, 42, 120, 400)]
    [1, 1, 2, 4, 12, 36]
    """
    for step in (1, 2, 3, 4, 6, 12):
        if months / step <= most:
            return step
    return 12 * -(-months // (12 * most))


def label_mix_figure(mix: pd.DataFrame, colours: dict[str, str]):
    """Stacked shares of each label per month (rows: period "YYYY-MM", columns: labels) on
    a date axis: bars at their months, so gaps show, and at most twelve ticks aligned to
    the year, each labeled with month and year, rotated."""
    plt = _pyplot()
    import matplotlib.dates as mdates

    months = pd.PeriodIndex(mix.index, freq="M").to_timestamp()
    fig, ax = plt.subplots(figsize=(9, 4))
    bottom = [0.0] * len(mix)
    for label in mix.columns:
        ax.bar(
            months, mix[label], width=25, align="edge", bottom=bottom, label=label, color=colours.get(label)
        )
        bottom = [b + v for b, v in zip(bottom, mix[label], strict=True)]
    if len(months):
        span = (months.max().year - months.min().year) * 12 + months.max().month - months.min().month + 1
        step = month_tick_step(span)
        locator = (
            mdates.MonthLocator(bymonth=range(1, 13, step)) if step <= 12 else mdates.YearLocator(step // 12)
        )
        ax.xaxis.set_major_locator(locator)
        ax.set_xlim(months.min() - pd.Timedelta(days=5), months.max() + pd.Timedelta(days=31))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
    ax.tick_params(axis="x", rotation=30)
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of paragraphs")
    ax.set_title("Label mix across documents over time (by month)")
    ax.legend(loc="upper left", bbox_to_anchor=(1, 1), fontsize=8)
    fig.tight_layout()
    return fig


def save_label_mix_png(mix: pd.DataFrame, path: Path, colours: dict[str, str]) -> None:
    """The label mix per month (`label_mix_figure`) as a PNG."""
    plt = _pyplot()
    fig = label_mix_figure(mix, colours)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
