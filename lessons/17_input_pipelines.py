"""Input pipelines with tf.data in graph mode: order of shuffle/repeat/batch, shuffle_and_repeat, augmentation, prefetch."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on

import time

import numpy as np
import tensorflow.compat.v1 as tf

from lowtf import verdicts
from lowtf.data.splits import load_splits
from lowtf.viz.plots import sample_grid

tf.disable_v2_behavior()

lesson = Lesson("17", "input pipelines")

READ = 0.001  # seconds a stand-in file read waits, per element
EPOCH = 100  # elements per epoch in the shuffle_and_repeat step (its buffer holds a whole epoch)
ROUNDS = 3  # each of its pipelines timed this many times, interleaved


def take(dataset: tf.data.Dataset, n: int) -> list:
    """The first n elements of a dataset, through a one-shot iterator
    and a Session."""
    next_element = tf.data.make_one_shot_iterator(dataset).get_next()
    with tf.Session() as sess:
        return [sess.run(next_element).tolist() for _ in range(n)]


@lesson.step(
    "a Dataset is a graph of ops; an iterator's get_next() is a tensor"
)
def basics(ctx):
    """In graph mode a Dataset does nothing until an iterator's get_next() tensor is run.
    Each run pulls the next element."""
    return {
        "range(5)": take(tf.data.Dataset.range(5), 5),
        "range(5).map(x * 10)": take(
            tf.data.Dataset.range(5).map(lambda x: x * 10), 5
        ),
    }


@lesson.step(
    "order matters: shuffle, repeat and batch on 0..5, two epochs, batches of 4"
)
def order(ctx):
    """shuffle -> repeat: each epoch is a full permutation, finished before the next one
    starts (batches may still straddle the boundary). repeat -> shuffle: the buffer mixes
    epochs, so an element can come back before another has appeared once.
    batch -> shuffle: the batches keep their contents; only their order changes."""
    ds = tf.data.Dataset.range(6)
    flat = {
        "shuffle then repeat": take(ds.shuffle(6, seed=1).repeat(2), 12),
        "repeat then shuffle": take(ds.repeat(2).shuffle(6, seed=1), 12),
    }
    batched = {
        "shuffle, repeat, batch(4)": take(
            ds.shuffle(6, seed=1).repeat(2).batch(4), 3
        ),
        "batch(2), shuffle": take(ds.batch(2).shuffle(3, seed=1), 3),
    }
    ctx.record(
        order_shuffle_then_repeat=flat["shuffle then repeat"],
        order_repeat_then_shuffle=flat["repeat then shuffle"],
        order_batch_then_shuffle=batched["batch(2), shuffle"],
    )
    return {**flat, **batched}


def slow(seconds: float):
    """A map function that takes `seconds` per element: it stands in for
    reading and decoding an image file, the real per-element cost of an
    input pipeline. numpy_function runs Python inside the pipeline."""

    def wait(x):
        time.sleep(seconds)
        return x

    return lambda x: tf.numpy_function(wait, [x], x.dtype)


@lesson.step("buffer size: randomness versus start-up delay")
def buffer(ctx):
    """shuffle(buffer_size=B) keeps B elements and emits a random one, refilling from the
    input: with B=1 nothing moves, and the first element is always one of the first B.
    Only B >= the dataset size gives a uniform shuffle, and the first element waits until
    the buffer is full: B elements read first. Below, each element sleeps READ = 1 ms (as
    a file read would wait), so the wait grows with B; calling Python from the pipeline
    (numpy_function) adds a little per element, and the first run starts up.
    The buffer also sits in memory, B whole elements: cheap for MNIST digits, not for
    large images (the sizes below are computed for float32 elements)."""
    ds = tf.data.Dataset.range(1000)
    # One iterator per buffer size, started again for each of 20 seeds:
    # an initializable iterator takes the seed from a placeholder.
    seed = tf.placeholder(tf.int64, [], name="seed")
    firsts = {}
    for b in (1, 10):
        it = tf.data.make_initializable_iterator(ds.shuffle(b, seed=seed))
        first = it.get_next()
        with tf.Session() as sess:
            seen = set()
            for s in range(20):
                sess.run(it.initializer, {seed: s})
                seen.add(int(sess.run(first)))
        firsts[b] = sorted(seen)
    delays = {}
    for b in (10, 1000):
        it = tf.data.make_one_shot_iterator(
            tf.data.Dataset.range(10_000).map(slow(READ)).shuffle(b, seed=0)
        )
        first = it.get_next()
        with tf.Session() as sess:
            t0 = time.perf_counter()
            sess.run(first)
            delays[b] = round((time.perf_counter() - t0) * 1000, 1)
    ctx.record(
        first_elements={str(b): v for b, v in firsts.items()},
        first_element_ms={str(b): v for b, v in delays.items()},
    )
    memory = {
        f"{b:,} x {'x'.join(map(str, shape))} float32": (
            f"{b * np.prod(shape) * 4 / 1e6:,.0f} MB"
        )
        for b, shape in ((10_000, (28, 28)), (10_000, (224, 224, 3)))
    }
    return {
        "memory held by a buffer of": memory,
        "first element over 20 seeds, buffer 1": firsts[1],
        "buffer 10": firsts[10],
        "ms to the first element at 1 ms each, buffer 10 vs 1000": delays,
    }


def pauses(dataset: tf.data.Dataset, n: int) -> tuple[float, float]:
    """(longest, median) wait in ms between consecutive elements over
    the first ``n`` after the first."""
    next_element = tf.data.make_one_shot_iterator(dataset).get_next()
    waits = []
    with tf.Session() as sess:
        sess.run(next_element)
        for _ in range(n):
            t0 = time.perf_counter()
            sess.run(next_element)
            waits.append((time.perf_counter() - t0) * 1000)
    return round(max(waits), 1), round(float(np.median(waits)), 2)


@lesson.step(
    "shuffle_and_repeat: the fused op of TF 1.x, and why shuffle().repeat() replaced it"
)
def shuffle_and_repeat(ctx):
    """shuffle(B).repeat() shuffles each epoch in turn: when an epoch's elements run out,
    the shuffle starts the next epoch with an empty buffer and must read B elements before
    it emits one, a pause at every epoch boundary. TF 1.x code used
    tf.data.experimental.shuffle_and_repeat(B, count) instead: one
    fused op that refills across the boundary, so the stream never stops. TensorFlow now
    does that fusion itself: tf.data's graph optimiser rewrites shuffle().repeat() into the
    fused op (options.experimental_optimization.shuffle_and_repeat_fusion, on by default),
    and shuffle_and_repeat is deprecated. Two epochs of EPOCH elements sleeping READ each,
    the buffer a whole epoch: the longest wait between two elements, ROUNDS rounds of each
    pipeline interleaved, with the fusion turned off to show the pause it removes."""
    base = tf.data.Dataset.range(EPOCH).map(slow(READ))
    unfused = tf.data.Options()
    unfused.experimental_optimization.shuffle_and_repeat_fusion = False
    pipelines = {
        "shuffle().repeat(2), fusion off": base.shuffle(EPOCH, seed=0)
        .repeat(2)
        .with_options(unfused),
        "shuffle().repeat(2), as written today": base.shuffle(
            EPOCH, seed=0
        ).repeat(2),
        "shuffle_and_repeat(B, 2), TF 1.x": base.apply(
            tf.data.experimental.shuffle_and_repeat(EPOCH, 2, seed=0)
        ),
    }
    longest = {name: [] for name in pipelines}
    for i in range(ROUNDS):
        for name, ds in pipelines.items():
            longest[name].append(pauses(ds, 2 * EPOCH - 1)[0])
        waits = ", ".join(f"{w[-1]:.1f}" for w in longest.values())
        line = f"   round {i + 1}/{ROUNDS}, longest waits ms: {waits}"
        print(line, flush=True)
    verdict = ctx.verdict(
        verdicts.repeated(
            "longest wait between elements, ms: "
            "fusion off vs as written today",
            longest["shuffle().repeat(2), fusion off"],
            longest["shuffle().repeat(2), as written today"],
            names=("fusion off", "fused"),
            ahead="longer than",
            digits=1,
        )
    )
    ctx.record(longest_waits_ms=longest)
    return {
        f"longest wait between elements, ms, {ROUNDS} rounds": longest,
        f"a refill of {EPOCH} elements sleeping {READ * 1000:.0f} ms "
        "takes at least, ms": EPOCH * READ * 1000,
        "verdict": verdict,
    }


def augment(image, label):
    """Random shift (pad 2, crop back), rotation of up to 15 degrees,
    random contrast; [28, 28, 1]."""
    shifted = tf.image.random_crop(
        tf.pad(image, [[2, 2], [2, 2], [0, 0]]), [28, 28, 1]
    )
    angle = tf.random_uniform([], -15.0, 15.0) * np.pi / 180
    cos, sin = tf.cos(angle), tf.sin(angle)
    # An affine map [a0 a1 a2; b0 b1 b2] sending output pixel (x, y) to an
    # input pixel: a rotation about the image centre (13.5, 13.5).
    cx = cy = 13.5
    transform = tf.stack(
        [
            cos,
            -sin,
            cx - cos * cx + sin * cy,
            sin,
            cos,
            cy - sin * cx - cos * cy,
            0.0,
            0.0,
        ]
    )
    rotated = tf.raw_ops.ImageProjectiveTransformV3(
        images=shifted[None],
        transforms=transform[None],
        output_shape=[28, 28],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )[0]
    contrasted = tf.clip_by_value(
        tf.image.random_contrast(rotated, 0.5, 1.5), 0.0, 1.0
    )
    return contrasted, label


@lesson.step(
    "augmentation in map: shifts, rotation, contrast, drawn fresh every epoch"
)
def augmentation(ctx):
    """Random ops inside map run per element, each time the element passes, so every epoch
    sees new variants of the same digits."""
    tf.set_random_seed(0)
    splits = load_splits(validation_size=0)
    first = splits.train.images[:8].astype(np.float32) / 255.0
    ds = tf.data.Dataset.from_tensor_slices(
        (np.repeat(first, 2, axis=0), np.repeat(splits.train.labels[:8], 2))
    )
    nxt = tf.data.make_one_shot_iterator(ds.map(augment).batch(16)).get_next()
    with tf.Session() as sess:
        images, labels = sess.run(nxt)
    panels = np.concatenate([first, images])
    path = sample_grid(
        panels,
        list(splits.train.labels[:8]) + labels.tolist(),
        ctx.logdir / "augmented.png",
    )
    ctx.record(augmented_grid=str(path))
    return {
        "grid (first row: originals; then two augmentations each)": str(path)
    }


@lesson.step("prefetch: the pipeline works while the model does")
def overlap(ctx):
    """Without prefetch the pipeline and the model take turns: a step waits for its batch,
    then the pipeline waits for the next request. prefetch(1) keeps one batch ready,
    produced on a background thread while the model computes. Here producing a batch
    takes 5 ms and a training step 5 ms (both stand-ins, so the demonstration does not
    depend on how busy the cores are): prefetch should bring 10 ms per step close to 5.
    Current TensorFlow adds such a prefetch by itself at the end of a pipeline (its
    inject_prefetch optimisation); it is turned off here so the difference shows."""
    batches = 40 if ctx.fast else 200
    ms_per_step, steps_ms = {}, {}
    for name, prefetch in (("no prefetch", False), ("prefetch(1)", True)):
        with tf.Graph().as_default():
            ds = tf.data.Dataset.range(10**6).batch(128).map(slow(0.005))
            if prefetch:
                ds = ds.prefetch(1)
            options = tf.data.Options()
            options.experimental_optimization.inject_prefetch = False
            options.autotune.enabled = False
            batch = tf.data.make_one_shot_iterator(
                ds.with_options(options)
            ).get_next()
            with tf.Session() as sess:
                sess.run(batch)
                steps_ms[name] = []
                for _ in range(batches):
                    t0 = time.perf_counter()
                    sess.run(batch)
                    time.sleep(0.005)  # the training step
                    steps_ms[name].append((time.perf_counter() - t0) * 1000)
                ms_per_step[name] = round(float(np.mean(steps_ms[name])), 1)
    speedup = ms_per_step["no prefetch"] / ms_per_step["prefetch(1)"]
    verdict = ctx.verdict(
        verdicts.repeated(
            f"ms per step over {batches} steps, no prefetch vs prefetch(1)",
            steps_ms["no prefetch"],
            steps_ms["prefetch(1)"],
            names=("no prefetch", "prefetch(1)"),
            ahead="slower than",
        )
    )
    ctx.record(ms_per_step=ms_per_step, prefetch_speedup=round(speedup, 2))
    return {
        "ms per step (mean)": ms_per_step,
        "prefetch speed-up": round(speedup, 2),
        "verdict (SE from the steps' spread)": verdict,
    }


if __name__ == "__main__":
    raise SystemExit(lesson.main())
