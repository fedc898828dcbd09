"""Augmentation that trains: which changes keep the label (a mirror for garments, a shift for digits), and shifts measured on 300 digits."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on

import keras
import numpy as np
import tensorflow as tf

from lowtf import verdicts
from lowtf.data.fashion_mnist import CLASSES
from lowtf.data.splits import load_splits
from lowtf.train.keras_progress import Ticking
from lowtf.viz.plots import sample_grid

lesson = Lesson(
    "29", "augmentation", keras=True
)  # Keras runs eagerly: a process of its own

# --- knobs -----------------------------------------------------------------------------
MIRROR_TRAIN = 2000  # images each mirror-test model trains on
TRAIN_PER_CLASS = 30  # digits per class for the shift experiment: 300 in all
MIRROR_STEPS = 60  # training steps of 64 images for each mirror-test model
# training steps of 64 images for each shift run: in --fast, 100 (21 passes
# over the 300 digits; plain learns them all) showed the gain beyond 2
# paired SE with seeds 0 and 1 (+0.033 and +0.020, 2 SE ~0.013; 150 steps:
# +0.038 with seed 0)
SHIFT_STEPS = {"fast": 100, "full": 400}
SEEDS = {"fast": [0], "full": [0, 1, 2]}
TEST_IMAGES = {"fast": 2000, "full": 10000}
SHIFT = 0.1  # RandomTranslation's largest shift, as a fraction of 28 pixels


def scaled(pixels):
    """uint8 images [N, 28, 28] as float32 [N, 28, 28, 1] in [0, 1]."""
    return pixels.reshape(-1, 28, 28, 1).astype(np.float32) / 255.0


def small_convnet(augmentation=(), seed=0):
    """conv 32 -> pool -> conv 64 -> pool -> dense 128 -> 10, with the
    augmentation layers first. Keras's random layers change images only
    while training (training=True); predict and evaluate see them
    unchanged."""
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            *augmentation,
            keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(64, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    # no metrics: right() below scores every model
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
    )
    # Adam's variables made now, not in fit's first trace of its step (a
    # trace that creates variables is traced again): one trace, not two
    model.optimizer.build(model.trainable_variables)
    return model


def fit(model, x, y, seed, steps):
    """``steps`` batches of 64, drawn from (x, y) reshuffled every pass."""
    stream = (
        tf.data.Dataset.from_tensor_slices((x, y))
        .shuffle(len(x), seed=seed)
        .repeat()
        .batch(64)
        .prefetch(tf.data.AUTOTUNE)
    )
    model.fit(
        stream, steps_per_epoch=steps, epochs=1, shuffle=False, verbose=0
    )
    return model


def right(model, images, labels):
    """[N]: 1.0 where the model's top class is the label, else 0."""
    scores = model.predict(images, batch_size=500, verbose=0)
    return (scores.argmax(axis=1) == labels).astype(np.float32)


@lesson.step(
    "a model knows only the orientations it saw; a mirror keeps a garment's label, not a digit's"
)
def mirror(ctx):
    """A model trained on images as they come has never seen them mirrored, so expect it
    to do worse on the mirrored test images; whether it did here, on each dataset, the
    verdicts below say (each read from the numbers and the standard error of the
    difference).
    Augmentation teaches an invariance by showing it: train on randomly mirrored images
    and the model learns that a mirror does not change the answer. That is right only
    where the label survives the change. A shirt seen in a mirror is still a shirt (a
    flower too: the flowers article flips its images), so
    RandomFlip("horizontal") is a fair augmentation for garments; a mirrored 2, 3, 4, 5
    or 7 is no digit at all (the picture), so for digits it would teach a falsehood."""
    n = TEST_IMAGES[ctx.mode]
    table, panels, labels = {}, [], []
    for dataset in ("fashion_mnist", "mnist"):
        splits = load_splits(dataset, validation_size=0)
        x, y = (
            scaled(splits.train.images[:MIRROR_TRAIN]),
            splits.train.labels[:MIRROR_TRAIN],
        )
        test_x, test_y = scaled(splits.test.images[:n]), splits.test.labels[:n]
        print(f"   {dataset}: training", end="", flush=True)
        with Ticking():
            model = fit(small_convnet(), x, y, seed=0, steps=MIRROR_STEPS)
        print(", scoring", flush=True)
        mirrored = test_x[:, :, ::-1, :]  # left and right swapped
        as_is = right(model, test_x, test_y)
        flipped = right(model, mirrored, test_y)
        # the same images, each scored both ways: a paired comparison
        verdict = verdicts.paired(
            f"{dataset}: test images as they are vs mirrored",
            as_is,
            flipped,
            names=("as they are", "mirrored"),
        )
        table[dataset] = {
            "as they are": round(float(as_is.mean()), 4),
            "mirrored": round(float(flipped.mean()), 4),
            "verdict": ctx.verdict(verdict),
        }
        panels += [test_x[i, :, :, 0] for i in range(5)] + [
            mirrored[i, :, :, 0] for i in range(5)
        ]
        names = [
            CLASSES[y] if dataset == "fashion_mnist" else str(y)
            for y in test_y[:5]
        ]
        labels += names + [f"{name}, mirrored" for name in names]
    path = sample_grid(
        np.stack(panels), labels, ctx.logdir / "mirrored.png", cols=10
    )
    ctx.record(mirror=table)
    # the picture: garments, then digits; in each row 5 as they are, then
    # the same 5 mirrored
    return {**table, "picture": str(path)}


@lesson.step(
    "shifts on 300 digits: RandomTranslation inside the model, trained with and without"
)
def shifts(ctx):
    """A digit moved a few pixels is the same digit, and MNIST's digits sit at slightly
    different places: shifting the training images is a label-keeping change. With only
    300 training digits the network can learn them by heart;
    RandomTranslation draws a new shift of up to 10% (2.8 pixels) for every image of
    every batch, so the 300 digits never look the same twice. Both runs take the same
    steps from the same seed. Both are scored on the same test digits, so the --fast
    verdict pairs them digit by digit (what both get right or both get wrong adds no
    noise); the full run's three seeds give the spread over seeds instead."""
    splits = load_splits("mnist", validation_size=0)
    n = TEST_IMAGES[ctx.mode]
    test_x, test_y = scaled(splits.test.images[:n]), splits.test.labels[:n]
    rng = np.random.default_rng(29)
    keep = np.concatenate(
        [
            rng.choice(
                np.where(splits.train.labels == k)[0],
                TRAIN_PER_CLASS,
                replace=False,
            )
            for k in range(10)
        ]
    )
    x, y = scaled(splits.train.images[keep]), splits.train.labels[keep]
    scores = {"plain": [], "shifted": []}
    per_digit = {}  # the last seed's right/wrong on each test digit
    train_scores = {"plain": [], "shifted": []}
    for seed in SEEDS[ctx.mode]:
        for name in scores:
            layers = (
                [
                    keras.layers.RandomTranslation(
                        SHIFT, SHIFT, fill_mode="constant", seed=seed
                    )
                ]
                if name == "shifted"
                else []
            )
            print(f"   seed {seed}, {name}:", end="", flush=True)
            with Ticking():
                model = small_convnet(layers, seed)
                fit(model, x, y, seed, SHIFT_STEPS[ctx.mode])
            per_digit[name] = right(model, test_x, test_y)
            scores[name].append(float(per_digit[name].mean()))
            print(f" test accuracy {scores[name][-1]:.4f}", flush=True)
            train_scores[name].append(float(right(model, x, y).mean()))
    a, b = np.mean(scores["shifted"]), np.mean(scores["plain"])
    if (
        len(SEEDS[ctx.mode]) > 1
    ):  # the spread over seeds holds the test-set noise and the seed's
        differences = np.subtract(scores["shifted"], scores["plain"])
        se = float(np.std(differences, ddof=1) / np.sqrt(len(differences)))
        verdict = verdicts.with_se(
            "test accuracy, shifted vs plain",
            a,
            b,
            se,
            names=("shifted", "plain"),
            kind="rounds",  # seeds: the t cut for their degrees of freedom
            df=len(differences) - 1,
        )
    else:
        verdict = verdicts.paired(
            "test accuracy, shifted vs plain",
            per_digit["shifted"],
            per_digit["plain"],
            names=("shifted", "plain"),
        )
    said = ctx.verdict(verdict)
    ctx.record(
        shift_test_accuracy={
            k: [round(v, 4) for v in s] for k, s in scores.items()
        },
        shift_train_accuracy={
            k: round(float(np.mean(s)), 4) for k, s in train_scores.items()
        },
    )
    return {
        "training digits": len(x),
        "seeds": SEEDS[ctx.mode],
        "test accuracy": {
            k: [round(v, 4) for v in s] for k, s in scores.items()
        },
        "training accuracy (mean)": {
            k: round(float(np.mean(s)), 4) for k, s in train_scores.items()
        },
        "verdict": said,
    }


if __name__ == "__main__":
    raise SystemExit(lesson.main())
