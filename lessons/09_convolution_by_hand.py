"""Convolution and pooling by hand on a real photograph: filters, SAME vs VALID, max-pooling."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on

from pathlib import Path

import matplotlib
import numpy as np
import tensorflow.compat.v1 as tf
from PIL import Image

from lowtf.viz.plots import sample_grid

tf.disable_v2_behavior()

lesson = Lesson("09", "convolution by hand")


@lesson.step("a real photograph as a [1, H, W, 1] tensor")
def photo(ctx):
    """matplotlib ships a photo of Grace Hopper. Convolutions take a batch of images
    shaped [batch, height, width, channels]; here one grey image."""
    path = (
        Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    )
    grey = np.asarray(Image.open(path).convert("L"), np.float32) / 255.0
    if ctx.fast:
        grey = grey[::4, ::4]
    ctx.image = grey[None, :, :, None]
    return {"file": str(path), "tensor shape": ctx.image.shape}


@lesson.step("four 7x7 filters make four feature maps")
def filters(ctx):
    """A conv filter bank has shape [height, width, in_channels, out_channels]. Four
    hand-made 7x7 filters: a vertical and a horizontal edge detector, a blur, and a
    diagonal line detector. Each produces one feature map.
    A convolution is a dense layer with two constraints. Local connectivity: each output
    pixel looks at a 7x7 patch, not the whole image. Weight sharing: the same 49 weights
    are used at every position, so an edge is found wherever it is. The count below is
    the saving: the bank's weights against a dense layer mapping this image to four
    maps of its size."""
    k = 7
    vertical = np.zeros((k, k), np.float32)
    vertical[:, :3], vertical[:, 4:] = -1, 1
    horizontal = vertical.T.copy()
    blur = np.full((k, k), 1.0 / (k * k), np.float32)
    diagonal = np.eye(k, dtype=np.float32) - 1.0 / k
    bank = np.stack([vertical, horizontal, blur, diagonal], axis=-1)[
        :, :, None, :
    ]  # [7, 7, 1, 4]
    x = tf.placeholder(tf.float32, [1, None, None, 1], name="image")
    ctx.x = x
    ctx.same = tf.nn.conv2d(
        x, bank, strides=[1, 1, 1, 1], padding="SAME", name="conv_same"
    )
    ctx.valid = tf.nn.conv2d(
        x, bank, strides=[1, 1, 1, 1], padding="VALID", name="conv_valid"
    )
    ctx.strided = tf.nn.conv2d(
        x, bank, strides=[1, 2, 2, 1], padding="SAME", name="conv_stride2"
    )
    ctx.pooled = tf.nn.max_pool(
        tf.nn.relu(ctx.same),
        ksize=[1, 2, 2, 1],
        strides=[1, 2, 2, 1],
        padding="SAME",
        name="pool",
    )
    height, width = ctx.image.shape[1:3]
    pixels = height * width
    ctx.record(
        conv_weights=bank.size, dense_weights_same_maps=pixels * pixels * 4
    )
    return {
        "filter bank shape": bank.shape,
        "its weights": bank.size,
        f"a dense layer from {height}x{width} pixels to 4 maps of that size": (
            f"{pixels * pixels * 4:,} weights"
        ),
    }


@lesson.step(
    "SAME keeps the size, VALID shrinks it by k-1, stride 2 halves it, 2x2 pooling halves it"
)
def sizes(ctx):
    """SAME pads with zeros so output = ceil(input / stride); VALID only places the filter
    where it fits: output = ceil((input - k + 1) / stride). Max-pooling 2x2 with stride 2
    keeps the strongest response in each 2x2 block."""
    with tf.Session() as sess:
        same, valid, strided, pooled = sess.run(
            [ctx.same, ctx.valid, ctx.strided, ctx.pooled], {ctx.x: ctx.image}
        )
    h, w = ctx.image.shape[1:3]
    ctx.maps = same
    sizes = {
        "input": (h, w),
        "SAME": same.shape[1:3],
        "VALID": valid.shape[1:3],
        "SAME stride 2": strided.shape[1:3],
        "2x2 max-pool": pooled.shape[1:3],
    }
    ctx.record(
        **{
            f"size_{k.replace(' ', '_').replace('-', '_')}": list(v)
            for k, v in sizes.items()
        }
    )
    return sizes


@lesson.step("the feature maps, saved as one image")
def save(ctx):
    """Each map is bright where the photo looks like its filter: vertical edges, horizontal
    edges, a blurred copy, diagonals."""
    maps = np.moveaxis(ctx.maps[0], -1, 0)
    panels = np.concatenate([ctx.image[0][None, :, :, 0], maps])
    path = sample_grid(
        panels,
        ["photo", "vertical", "horizontal", "blur", "diagonal"],
        ctx.logdir / "feature_maps.png",
        cols=5,
    )
    ctx.record(feature_maps=str(path))
    return {"saved": str(path)}


if __name__ == "__main__":
    raise SystemExit(lesson.main())
