"""Small, easily learned image sets the Keras exercises' checks train on in seconds.

Class ``k`` of ``classes`` is dark noise with a bright 8x8 square at its own place, so a small
network separates the classes in a few epochs. Written as PNG files one folder per class
(``0_square_top_left/``, ...: sorted by name, the folders give the labels) like the course's
PNG folder (lesson 22), or handed back as arrays.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

CORNERS = ((2, 2), (2, 18), (18, 2), (18, 18))
NAMES = ("square_top_left", "square_top_right", "square_bottom_left", "square_bottom_right")


def images(per_class: int, classes: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 images [N, 28, 28], int64 labels [N]), classes in turn."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 60, (per_class * classes, 28, 28), dtype=np.uint8)
    labels = np.tile(np.arange(classes), per_class)
    for i, label in enumerate(labels):
        row, col = CORNERS[label]
        pixels[i, row:row + 8, col:col + 8] = rng.integers(200, 256, (8, 8), dtype=np.uint8)
    return pixels, labels


def write_folders(root: Path, per_class: int, classes: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Write ``images`` as root/<k>_<name>/<i>.png; return what was written (images, labels)."""
    pixels, labels = images(per_class, classes, seed)
    for i, (image, label) in enumerate(zip(pixels, labels)):
        folder = Path(root) / f"{label}_{NAMES[label]}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"{i:04d}.png")
    return pixels, labels


def pipeline_ops(dataset) -> set[str]:
    """Every op type in a tf.data pipeline's graph, the functions its map calls included (what the
    pipeline does, whatever Python built it)."""
    import tensorflow as tf

    graph = tf.compat.v1.GraphDef()
    graph.ParseFromString(dataset._as_serialized_graph().numpy())
    ops = {node.op for node in graph.node}
    for function in graph.library.function:
        ops.update(node.op for node in function.node_def)
    return ops
