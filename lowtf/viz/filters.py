"""Conv filters as one tiled image, and a GIF of them changing over training."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import imageio.v2 as imageio
import numpy as np
from PIL import Image, ImageDraw


def grid_shape(count: int) -> tuple[int, int]:
    """(rows, cols) of the most nearly square grid holding ``count`` tiles."""
    cols = math.ceil(math.sqrt(count))
    return math.ceil(count / cols), cols


def filter_grid(weights: np.ndarray, channel: int = 0, pad: int = 1, scale: int = 1) -> np.ndarray:
    """Tile the filters of one input channel of ``weights [k, k, in, out]`` into a uint8 image.

    Each filter is normalised to 0..255 on its own (so weak filters stay visible);
    tiles are separated by ``pad`` black pixels and enlarged ``scale`` times.
    Shape: ``[rows * (k + pad) + pad, cols * (k + pad) + pad] * scale``.
    """
    if weights.ndim != 4:
        raise ValueError(f"expected conv weights [k, k, in, out], got shape {weights.shape}")
    k, _, _, count = weights.shape
    rows, cols = grid_shape(count)
    image = np.zeros((rows * (k + pad) + pad, cols * (k + pad) + pad), np.uint8)
    for i in range(count):
        f = weights[:, :, channel, i].astype(np.float64)
        f = (f - f.min()) / (f.max() - f.min() + 1e-12)
        r, c = divmod(i, cols)
        y, x = pad + r * (k + pad), pad + c * (k + pad)
        image[y:y + k, x:x + k] = np.round(f * 255).astype(np.uint8)
    return np.kron(image, np.ones((scale, scale), np.uint8)) if scale > 1 else image


def label_frame(image: np.ndarray, text: str, band: int = 14) -> np.ndarray:
    """Add a band below a grey image with ``text`` written in it (RGB uint8 out)."""
    h, w = image.shape[:2]
    canvas = Image.new("RGB", (w, h + band), "white")
    canvas.paste(Image.fromarray(image).convert("RGB"), (0, 0))
    ImageDraw.Draw(canvas).text((2, h + 1), text, fill="black")
    return np.asarray(canvas)


def filter_gif(frames: Sequence[np.ndarray], steps: Sequence[int], path: str | Path, channel: int = 0,
               scale: int = 8, seconds_per_frame: float = 0.25) -> Path:
    """Write one frame per recorded ``weights [k, k, in, out]``, each labelled with its step."""
    if len(frames) != len(steps) or not frames:
        raise ValueError(f"need one step per frame, got {len(frames)} frames and {len(steps)} steps")
    images = [label_frame(filter_grid(f, channel, scale=scale), f"step {s}") for f, s in zip(frames, steps)]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    imageio.mimsave(path, images, duration=seconds_per_frame, loop=0)
    return path
