"""Datasets as plain arrays split three ways, ready for a tf.data pipeline."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Optional

import numpy as np


@dataclass
class Split:
    """``images`` uint8 ``[N, 28, 28, 1]``, ``labels`` int64 ``[N]``."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, n: int) -> "Split":
        return Split(self.images[:n], self.labels[:n])


@dataclass
class Splits:
    train: Split
    validation: Optional[Split]
    test: Split


def load_splits(dataset: str = "mnist", validation_size: int = 5000, train_size: Optional[int] = None,
                test_size: Optional[int] = None) -> Splits:
    """MNIST or Fashion-MNIST as uint8 splits; validation is the first ``validation_size``
    training rows (as TF 1.x did), train the rest (cut to ``train_size`` if given)."""
    from lowtf.data import fashion_mnist, mnist

    source = {"mnist": mnist, "fashion_mnist": fashion_mnist}[dataset]
    # The store says something only when a file is missing or corrupt: what it tries, and why.
    x, y = source.load("train", log=lambda m: print(m, file=sys.stderr))
    xt, yt = source.load("test", log=lambda m: print(m, file=sys.stderr))
    x, xt = x[..., None], xt[..., None]
    y, yt = y.astype(np.int64), yt.astype(np.int64)
    validation = Split(x[:validation_size], y[:validation_size]) if validation_size else None
    train = Split(x[validation_size:], y[validation_size:])
    if train_size is not None:
        train = train.take(train_size)
    test = Split(xt, yt) if test_size is None else Split(xt[:test_size], yt[:test_size])
    return Splits(train, validation, test)
