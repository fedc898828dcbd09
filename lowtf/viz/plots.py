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
    """Accuracy (train dashed, test solid) and train loss against step, one colour per run."""
    fig, (acc_ax, loss_ax) = plt.subplots(1, 2, figsize=(10, 4))
    for (name, h), colour in zip(histories.items(), plt.rcParams["axes.prop_cycle"].by_key()["color"]):
        acc_ax.plot(h.steps, h.accuracy, "--", color=colour, alpha=0.6, label=f"{name} train")
        acc_ax.plot(h.eval_steps, h.test_accuracy, "-o", color=colour, markersize=3, label=f"{name} test")
        loss_ax.plot(h.steps, h.loss, color=colour, label=name)
    acc_ax.set(xlabel="step", ylabel="accuracy", title="accuracy")
    loss_ax.set(xlabel="step", ylabel="train loss", title="loss", yscale="log")
    acc_ax.legend(fontsize=8)
    loss_ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def sample_grid(images: np.ndarray, labels: Sequence[int], path: str | Path,
                predictions: Optional[Sequence[int]] = None, cols: int = 8) -> Path:
    """Images ``[N, H, W(, 1)]`` with their labels (and predictions: red when wrong)."""
    n = len(images)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.2, rows * 1.35), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(np.squeeze(images[i]), cmap="gray")
        text, colour = f"{labels[i]}", "black"
        if predictions is not None:
            text = f"{labels[i]}→{predictions[i]}"
            colour = "black" if predictions[i] == labels[i] else "red"
        ax.set_title(text, fontsize=8, color=colour)
    return _save(fig, path)


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, classes: int = 10) -> np.ndarray:
    """``m[true, predicted]`` counts, ``[classes, classes]``."""
    m = np.zeros((classes, classes), np.int64)
    np.add.at(m, (np.asarray(labels), np.asarray(predictions)), 1)
    return m


def plot_confusion(matrix: np.ndarray, path: str | Path, names: Optional[Sequence[str]] = None) -> Path:
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.imshow(np.log1p(matrix), cmap="Blues")
    for (i, j), v in np.ndenumerate(matrix):
        ax.text(j, i, str(v), ha="center", va="center", fontsize=6)
    ticks = range(len(matrix))
    ax.set(xticks=ticks, yticks=ticks, xlabel="predicted", ylabel="true")
    if names:
        ax.set_xticklabels(names, rotation=90, fontsize=7)
        ax.set_yticklabels(names, fontsize=7)
    return _save(fig, path)
