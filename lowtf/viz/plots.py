"""Training curves, sample grids and confusion matrices as PNG files (matplotlib, no screen needed)."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Optional, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def training_curves(histories: Mapping[str, object], path: str | Path, title: str = "") -> Path:
    """Accuracy, error rate (1 - accuracy, log scale: 0.98 to 0.993 is a third of the panel, not a
    sliver) and loss (linear from 0: a test loss that turns up shows as it is) against step; train
    dashed (the mean since the last point), test solid with markers, one colour per run."""
    fig, (acc_ax, err_ax, loss_ax) = plt.subplots(1, 3, figsize=(15, 4.2), sharex=True)
    floor = 1e-4                      # an error rate of 0 has no place on a log axis: drawn at 1e-4
    for (name, h), colour in zip(histories.items(), plt.rcParams["axes.prop_cycle"].by_key()["color"]):
        for ax, train, test in ((acc_ax, h.accuracy, h.test_accuracy),
                                (err_ax, np.maximum(1 - np.asarray(h.accuracy, float), floor),
                                 np.maximum(1 - np.asarray(h.test_accuracy, float), floor)),
                                (loss_ax, h.loss, h.test_loss)):
            ax.plot(h.steps, train, "--", color=colour, alpha=0.7, label=f"{name}: train")
            ax.plot(h.eval_steps, test, "-o", color=colour, markersize=3, label=f"{name}: test")
    acc_ax.set(xlabel="training step", ylabel="accuracy", title="accuracy")
    err_ax.set(xlabel="training step", ylabel="error rate, 1 - accuracy (log; 0 drawn at 1e-4)", title="error rate",
               yscale="log")
    loss_ax.set(xlabel="training step", ylabel="cross-entropy loss", title="loss")
    loss_ax.set_ylim(bottom=0)
    for ax in (acc_ax, err_ax, loss_ax):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def sample_grid(images: np.ndarray, labels: Sequence[int], path: str | Path,
                predictions: Optional[Sequence[int]] = None, cols: int = 8, title: str = "") -> Path:
    """Images ``[N, H, W(, 1)]`` with their labels (and predictions: "true→predicted", red when wrong)."""
    n = len(images)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.2, rows * 1.35 + 0.5), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(np.squeeze(images[i]), cmap="gray")
        text, colour = f"{labels[i]}", "black"
        if predictions is not None:
            text = f"{labels[i]}→{predictions[i]}"
            colour = "black" if predictions[i] == labels[i] else "red"
        ax.set_title(text, fontsize=9, color=colour)
    if predictions is not None:
        title = (title + "\n" if title else "") + "each image: true label → the model's prediction (red: wrong)"
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, classes: int = 10) -> np.ndarray:
    """``m[true, predicted]`` counts, ``[classes, classes]``."""
    m = np.zeros((classes, classes), np.int64)
    np.add.at(m, (np.asarray(labels), np.asarray(predictions)), 1)
    return m


def plot_confusion(matrix: np.ndarray, path: str | Path, names: Optional[Sequence[str]] = None,
                   title: str = "") -> Path:
    """The confusion matrix with every count written on its cell (dark text on light cells,
    white on dark), titled with the error count."""
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    shade = np.log1p(matrix)
    ax.imshow(shade, cmap="Blues")
    dark = shade.max() * 0.6
    for (i, j), v in np.ndenumerate(matrix):
        if v:
            ax.text(j, i, str(v), ha="center", va="center", fontsize=9,
                    color="white" if shade[i, j] > dark else "black")
    ticks = range(len(matrix))
    ax.set(xticks=ticks, yticks=ticks, xlabel="predicted", ylabel="true")
    if names:
        ax.set_xticklabels(names, rotation=90, fontsize=8)
        ax.set_yticklabels(names, fontsize=8)
    errors = int(matrix.sum() - np.trace(matrix))
    ax.set_title((title + ": " if title else "") + f"{errors} errors in {int(matrix.sum()):,} test images")
    return _save(fig, path)


def transfer_plot(table: Mapping[int, Mapping[str, float]], path: str | Path, title: str = "",
                  tested: Optional[int] = None, chance: float = 0.0) -> Path:
    """Test accuracy against the number of labelled images (log scale), one line per variant.

    ``table``: ``{labels: {"scratch": acc, "frozen": acc, "fine-tuned": acc}}`` (lesson 25). The
    y axis runs from ``chance`` (drawn dashed) to 1, not zoomed onto the points, so a gap looks
    as large as it is; with ``tested`` (test images per accuracy) each point carries a bar of
    +-2 standard errors, the noise the lesson's verdicts use."""
    counts = sorted(table)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for variant, marker in zip(table[counts[0]], "osD"):
        values = np.array([table[n][variant] for n in counts])
        bars = None if tested is None else 2 * np.sqrt(values * (1 - values) / tested)
        ax.errorbar(counts, values, yerr=bars, fmt="-" + marker, capsize=3, label=variant)
        for n, v in zip(counts, values):
            ax.annotate(f"{v:.3f}", (n, v), textcoords="offset points", xytext=(6, -3), fontsize=8)
    ax.axhline(chance, color="grey", linestyle="--", linewidth=1, label=f"chance ({chance:.2f})")
    ax.set_ylim(chance - 0.02, 1.0)
    ax.set_xscale("log")
    ax.set_xticks(counts, [f"{n:,}" for n in counts])
    ax.minorticks_off()
    ylabel = "test accuracy" + ("" if tested is None else f" (bars: 2 SE on {tested:,} images)")
    ax.set(xlabel="labelled images of the new task", ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)
