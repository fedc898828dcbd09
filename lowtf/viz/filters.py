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


def label_frame(image: np.ndarray, text: str, size: int = 16) -> np.ndarray:
    """Add a white band below a grey image with ``text`` in it, ``size`` pixels high (RGB uint8 out)."""
    from PIL import ImageFont

    h, w = image.shape[:2]
    font = ImageFont.load_default(size=size)
    lines = text.split("\n")
    canvas = Image.new("RGB", (w, h + (size + 4) * len(lines) + 4), "white")
    canvas.paste(Image.fromarray(image).convert("RGB"), (0, 0))
    draw = ImageDraw.Draw(canvas)
    for i, line in enumerate(lines):
        draw.text((4, h + 4 + i * (size + 4)), line, fill="black", font=font)
    return np.asarray(canvas)


def filter_gif(frames: Sequence[np.ndarray], steps: Sequence[int], path: str | Path,
               scale: int = 8, ms_per_frame: int = 250) -> Path:
    """A GIF of filters ``[k, k, in, out]`` over training, one frame per recorded step.

    A layer with several input channels is drawn as their mean (every channel counts, not
    channel 0 alone, which may be fed by a unit that never learns). Left: the filters, each
    on one grey scale for the whole run (its min..max over every frame), so a change in the
    picture is a change in the weights. Right: the change since the first frame, scaled to
    that frame's own largest change (mid-grey = none), so change is visible from the first
    steps on, when it is a small fraction of the weights. Below, legible: the step and the
    relative change of the layer's weights so far, all channels (the number lessons print).
    The last frame is held 2 s.
    """
    if len(frames) != len(steps) or not frames:
        raise ValueError(f"need one step per frame, got {len(frames)} frames and {len(steps)} steps")
    stack = np.stack([f.mean(axis=2, keepdims=True) for f in frames]).astype(np.float64)
    lo, hi = stack.min(axis=(0, 1, 2, 3)), stack.max(axis=(0, 1, 2, 3))
    change = stack - stack[0]
    channels = frames[0].shape[2]
    images = []
    for f, d, s, weights in zip(stack, change, steps, frames):
        reach = np.abs(d).max() + 1e-12
        left = filter_grid(f, 0, scale=scale, lo=lo, hi=hi)
        right = filter_grid(d, 0, scale=scale, lo=np.full(len(lo), -reach), hi=np.full(len(hi), reach))
        gap = np.full((left.shape[0], 2 * scale), 255, np.uint8)
        drawn = "filters" if channels == 1 else f"filters (mean of {channels} input channels)"
        text = (f"step {s}: {relative_change(frames[0], weights):.0%} moved since step {steps[0]}\n"
                f"left: {drawn}; right: change, this frame's scale")
        images.append(label_frame(np.hstack([left, gap, right]), text))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    durations = [ms_per_frame] * (len(images) - 1) + [2000]
    # Every pixel is a grey (R = G = B): written as one channel, Pillow maps it to the GIF's palette
    # directly instead of quantising each RGB frame (measured: 0.5 s against 3.1 s for 25 frames
    # of a 64-filter layer, the same pixels read back).
    # optimize=False: Pillow's optimizer re-palettes frames (each to its own colours, P and L mixed),
    # which imageio 2.38 with Pillow 13 cannot read back ("No packer found from P to L"); without it
    # the same pixels read back, 20x faster to write (0.08 s against 1.6 s, 17 frames), same size.
    grey = np.stack(images)[..., 0]
    if len(durations) == 1:    # one frame (a run resumed at its last step): Pillow takes only a number then
        durations = durations[0]
    iio.imwrite(path, grey, duration=durations, loop=0, optimize=False)   # GIF durations are milliseconds
    return path
