"""Conv filters as one tiled image, and a GIF of them changing over training."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import imageio.v3 as iio
import numpy as np
from PIL import Image, ImageDraw


def grid_shape(count: int) -> tuple[int, int]:
    """(rows, cols) of the most nearly square grid holding ``count`` tiles."""
    cols = math.ceil(math.sqrt(count))
    return math.ceil(count / cols), cols


def filter_grid(weights: np.ndarray, channel: int = 0, pad: int = 1, scale: int = 1,
                lo: np.ndarray | None = None, hi: np.ndarray | None = None) -> np.ndarray:
    """Tile the filters of one input channel of ``weights [k, k, in, out]`` into a uint8 image.

    Filter i is mapped from ``lo[i]..hi[i]`` to 0..255 (default: its own min and max, so weak
    filters stay visible; pass the range over a whole run to keep frames of a GIF comparable).
    Tiles are separated by ``pad`` black pixels and enlarged ``scale`` times.
    Shape: ``[rows * (k + pad) + pad, cols * (k + pad) + pad] * scale``.
    """
    if weights.ndim != 4:
        raise ValueError(f"expected conv weights [k, k, in, out], got shape {weights.shape}")
    k, _, _, count = weights.shape
    rows, cols = grid_shape(count)
    image = np.zeros((rows * (k + pad) + pad, cols * (k + pad) + pad), np.uint8)
    for i in range(count):
        f = weights[:, :, channel, i].astype(np.float64)
        low = f.min() if lo is None else lo[i]
        high = f.max() if hi is None else hi[i]
        f = np.clip((f - low) / (high - low + 1e-12), 0, 1)
        r, c = divmod(i, cols)
        y, x = pad + r * (k + pad), pad + c * (k + pad)
        image[y:y + k, x:x + k] = np.round(f * 255).astype(np.uint8)
    return np.kron(image, np.ones((scale, scale), np.uint8)) if scale > 1 else image


def relative_change(first: np.ndarray, last: np.ndarray) -> float:
    """How far a layer's weights moved: ``|last - first| / |first|`` (Frobenius norms)."""
    return float(np.linalg.norm(last - first) / (np.linalg.norm(first) + 1e-12))


def label_frame(image: np.ndarray, text: str, band: int = 14) -> np.ndarray:
    """Add a band below a grey image with ``text`` written in it (RGB uint8 out)."""
    h, w = image.shape[:2]
    canvas = Image.new("RGB", (w, h + band), "white")
    canvas.paste(Image.fromarray(image).convert("RGB"), (0, 0))
    ImageDraw.Draw(canvas).text((2, h + 1), text, fill="black")
    return np.asarray(canvas)


def filter_gif(frames: Sequence[np.ndarray], steps: Sequence[int], path: str | Path, channel: int = 0,
               scale: int = 8, ms_per_frame: int = 250) -> Path:
    """A GIF of filters ``[k, k, in, out]`` over training, one frame per recorded step.

    Left: the filters, each on one grey scale for the whole run (its min..max over every
    frame), so a change in the picture is a change in the weights. Right: the change since
    the first frame (mid-grey = none; the scale is the largest change of the run). Below:
    the step and the layer's relative change so far. The last frame is held 2 s.
    """
    if len(frames) != len(steps) or not frames:
        raise ValueError(f"need one step per frame, got {len(frames)} frames and {len(steps)} steps")
    stack = np.stack([f[:, :, channel:channel + 1, :] for f in frames]).astype(np.float64)
    lo, hi = stack.min(axis=(0, 1, 2, 3)), stack.max(axis=(0, 1, 2, 3))
    change = stack - stack[0]
    reach = np.abs(change).max() + 1e-12
    images = []
    for f, d, s in zip(stack, change, steps):
        left = filter_grid(f, 0, scale=scale, lo=lo, hi=hi)
        right = filter_grid(d, 0, scale=scale, lo=np.full(len(lo), -reach), hi=np.full(len(hi), reach))
        gap = np.full((left.shape[0], 2 * scale), 255, np.uint8)
        text = f"step {s}: filters | change since step {steps[0]}  ({relative_change(stack[0], f):.0%} moved)"
        images.append(label_frame(np.hstack([left, gap, right]), text))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    durations = [ms_per_frame] * (len(images) - 1) + [2000]
    iio.imwrite(path, np.stack(images), duration=durations, loop=0)   # GIF durations are milliseconds
    return path
