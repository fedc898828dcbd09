"""Fashion-MNIST as a folder of PNG files with a CSV of labels: image data as it is found at work.

Taught in lesson 22; lessons 24 and 26 read it. Built once from the verified Fashion-MNIST
IDX files (nothing is downloaded), in the layout ``keras.utils.image_dataset_from_directory``
expects and with a labels file shaped like the satellite-image article's CSV::

    fashion-mnist-png/
        train/0_t-shirt_top/00001.png ... train/9_ankle_boot/...   (TRAIN_PER_CLASS per class)
        test/0_t-shirt_top/00019.png ...                            (TEST_PER_CLASS per class)
        labels.csv      image_name,split,label,class,top,footwear,dark,large
        MANIFEST.md5    the MD5 of every file above, written last

A file's number is its row in the IDX file it came from. The class folders start with the
label so that sorting them by name (what Keras does) gives the label order. The four
attributes are yes/no questions, several can be true at once: ``top`` (worn on the upper
body: T-shirt, pullover, coat, shirt), ``footwear`` (sandal, sneaker, ankle boot), ``dark``
(the item's mean brightness is below the median of the training images) and ``large`` (it
covers more of the picture than the median). The first two follow from the class; the last
two must be seen in the pixels.

The folder is written under a temporary name, every PNG is decoded back and compared with
its source pixels, and only then renamed into place; each later use checks every file
against the manifest and rebuilds the folder when one is missing or changed.
"""
from __future__ import annotations

import csv
import hashlib
import io
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from lowtf.data import fashion_mnist
from lowtf.data.store import DataError, data_dir, remove_stale_temporaries

TRAIN_PER_CLASS = 1000
TEST_PER_CLASS = 200
CLASS_FOLDERS = tuple(f"{i}_{name.lower().replace('/', '_').replace(' ', '_')}"
                      for i, name in enumerate(fashion_mnist.CLASSES))
ATTRIBUTES = ("top", "footwear", "dark", "large")
TOP, FOOTWEAR = (0, 2, 4, 6), (5, 7, 9)
COLUMNS = ("image_name", "split", "label", "class") + ATTRIBUTES
MANIFEST = "MANIFEST.md5"


@dataclass
class ImageFolder:
    """The written folder: its root, the train and test class folders, and the labels CSV."""

    root: Path

    @property
    def train_dir(self) -> Path:
        return self.root / "train"

    @property
    def test_dir(self) -> Path:
        return self.root / "test"

    @property
    def labels_csv(self) -> Path:
        return self.root / "labels.csv"


@dataclass
class Labels:
    """The rows of labels.csv for one split: ``paths`` [N] str, ``labels`` int64 [N], ``attributes`` float32 [N, 4]."""

    paths: np.ndarray
    labels: np.ndarray
    attributes: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


def folder() -> Path:
    return data_dir() / "fashion-mnist-png"


def attributes(images: np.ndarray, labels: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``[N, 28, 28]`` uint8 images and their labels -> ``[N, 4]`` float32 0/1 for ATTRIBUTES.

    ``dark`` and ``large`` compare each image with the medians of ``reference`` (the training images).
    """
    def brightness(x):   # mean of the item's own pixels, background left out
        ink = x > 0
        return (x * ink).sum(axis=(1, 2)) / np.maximum(ink.sum(axis=(1, 2)), 1)

    def coverage(x):
        return (x > 0).mean(axis=(1, 2))

    top = np.isin(labels, TOP)
    footwear = np.isin(labels, FOOTWEAR)
    dark = brightness(images) < np.median(brightness(reference))
    large = coverage(images) > np.median(coverage(reference))
    return np.stack([top, footwear, dark, large], axis=1).astype(np.float32)


def png_bytes(image: np.ndarray) -> bytes:
    """A ``[28, 28]`` uint8 image as PNG file bytes (greyscale, lossless)."""
    out = io.BytesIO()
    Image.fromarray(image, mode="L").save(out, format="PNG")
    return out.getvalue()


def _pick(labels: np.ndarray, per_class: int) -> np.ndarray:
    """The first ``per_class`` rows of each class, in file order."""
    rows = np.concatenate([np.flatnonzero(labels == c)[:per_class] for c in range(10)])
    return np.sort(rows)


def _write(tmp: Path, log: Callable[[str], None]) -> None:
    train_x, train_y = fashion_mnist.load("train", log=log)
    rows_out = []
    for split, per_class in (("train", TRAIN_PER_CLASS), ("test", TEST_PER_CLASS)):
        x, y = (train_x, train_y) if split == "train" else fashion_mnist.load("test", log=log)
        rows = _pick(y, per_class)
        attrs = attributes(x[rows], y[rows], reference=train_x)
        for row, attr in zip(rows, attrs):
            name = f"{split}/{CLASS_FOLDERS[y[row]]}/{row:05d}.png"
            data = png_bytes(x[row])
            if not np.array_equal(np.asarray(Image.open(io.BytesIO(data))), x[row]):
                raise DataError(f"{name}: the PNG did not decode to its source pixels; nothing was kept")
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_bytes(data)
            rows_out.append([name, split, int(y[row]), fashion_mnist.CLASSES[y[row]], *map(int, attr)])
    with open(tmp / "labels.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        writer.writerows(rows_out)
    sums = [f"{_md5(tmp / r[0])}  {r[0]}" for r in rows_out] + [f"{_md5(tmp / 'labels.csv')}  labels.csv"]
    (tmp / MANIFEST).write_text("\n".join(sums) + "\n")


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def problem(root: Path) -> str | None:
    """None when every file in ``root``'s manifest is there with its MD5, else the first problem found."""
    manifest = root / MANIFEST
    if not manifest.is_file():
        return "no manifest (never finished writing)"
    try:
        lines = manifest.read_text().splitlines()
    except UnicodeDecodeError:
        return "the manifest is damaged (not text)"
    if len(lines) != 10 * (TRAIN_PER_CLASS + TEST_PER_CLASS) + 1:
        return f"manifest lists {len(lines)} files, expected {10 * (TRAIN_PER_CLASS + TEST_PER_CLASS) + 1}"
    for number, line in enumerate(lines, 1):
        md5, _, name = line.partition("  ")
        if len(md5) != 32 or not name or ".." in Path(name).parts or Path(name).is_absolute():
            return f"manifest line {number} is damaged ({line[:60]!r})"
        path = root / name
        if not path.is_file():
            return f"{name} is missing"
        if _md5(path) != md5:
            return f"{name} has changed (MD5 {_md5(path)}, expected {md5})"
    return None


def ensure_image_folder(root: Path | None = None, log: Callable[[str], None] = print) -> ImageFolder:
    """Make the PNG folder present and verified at ``root`` (default ``data/fashion-mnist-png``); return it."""
    root = Path(root or folder())
    if root.exists() and not root.is_dir():
        raise DataError(f"{root} is a file where the image folder belongs; move it or set LOWTF_DATA_DIR")
    remove_stale_temporaries(root.parent, log)   # a killed write's 12,000 PNGs
    if root.is_dir():
        reason = problem(root)
        if reason is None:
            return ImageFolder(root)
        log(f"{root}: {reason}; writing it again from the Fashion-MNIST files")
    tmp = root.with_name(f".{root.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        _write(tmp, log)
        old = root.with_name(f".{root.name}.{os.getpid()}.old")
        if root.exists():
            root.rename(old)          # two renames: a reader never sees a half-replaced folder
        tmp.rename(root)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log(f"{root}: {10 * TRAIN_PER_CLASS:,} training and {10 * TEST_PER_CLASS:,} test PNGs written and verified")
    return ImageFolder(root)


def read_labels(images: ImageFolder, split: str) -> Labels:
    """The CSV rows of ``split`` ('train' or 'test'), paths made absolute."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    with open(images.labels_csv, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == split]
    return Labels(paths=np.array([str(images.root / r["image_name"]) for r in rows]),
                  labels=np.array([int(r["label"]) for r in rows], np.int64),
                  attributes=np.array([[float(r[a]) for a in ATTRIBUTES] for r in rows], np.float32))
