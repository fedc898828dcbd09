"""Two heads, two losses: one trunk, a softmax head for the digit and a sigmoid head for its attributes."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on

import numpy as np
import tensorflow.compat.v1 as tf

from lowtf.data.splits import load_splits
from lowtf.models.params import by_name
from lowtf.nn import conv2d, dense, flatten, max_pool
from lowtf.train import TrainConfig, train
from lowtf.train.objectives import Objective

tf.disable_v2_behavior()

lesson = Lesson("19", "two heads")

# --- knobs -----------------------------------------------------------------------------
STEPS = {"fast": 150, "full": 1500}
TEST_IMAGES = {"fast": 2000, "full": None}  # None: all 10,000
EVAL_IMAGES = 500  # test images scored at each point of the curves
BATCH_SIZE = 128
LEARNING_RATE = 1e-3
ATTRIBUTES = ("even", "prime", "at_least_five", "closed_loop")
# One row per digit 0..9: is it even, prime, >= 5, drawn with a closed loop (0, 6, 8, 9)?
ATTRIBUTE_TABLE = np.array(
    [
        [d % 2 == 0, d in (2, 3, 5, 7), d >= 5, d in (0, 6, 8, 9)]
        for d in range(10)
    ],
    np.float32,
)


@lesson.step(
    "labels for the second head come from the first: a lookup table in the graph"
)
def labels(ctx):
    """The course's multi-output Keras article predicted weather (one of several) and ground
    (several at once) from satellite images. On digits: the class is one-of-ten (softmax),
    the attributes are four independent yes/no questions (one sigmoid each, several can be
    true)."""
    return {
        "attributes": ATTRIBUTES,
        "table (rows = digits 0..9)": ATTRIBUTE_TABLE.astype(int).tolist(),
    }


def two_heads(images, training):
    """One trunk, two heads: ``[N, 28, 28, 1]`` -> {"digit": [N, 10],
    "attributes": [N, 4]} logits."""
    with tf.name_scope("trunk"):
        h, conv1 = conv2d(images, 16, 5, "conv1")
        h, conv2 = conv2d(max_pool(h, "pool1"), 32, 5, "conv2")
        features, fc = dense(flatten(max_pool(h, "pool2")), 128, "fc")
    digit_logits, digit_head = dense(
        features, 10, "digit_head", activation=None
    )
    attribute_logits, attribute_head = dense(
        features, len(ATTRIBUTES), "attribute_head", activation=None
    )
    return {
        "digit": digit_logits,
        "attributes": attribute_logits,
    }, by_name(conv1, conv2, fc, digit_head, attribute_head)


def two_losses(outputs, digits):
    """Each example's loss is the digit's softmax cross-entropy plus the
    mean of four binary cross-entropies, one per attribute; the metrics
    say how each head does."""
    attributes = tf.gather(tf.constant(ATTRIBUTE_TABLE), digits)
    with tf.name_scope("losses"):
        digit_loss = tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=digits, logits=outputs["digit"]
        )
        attribute_loss = tf.reduce_mean(
            tf.nn.sigmoid_cross_entropy_with_logits(
                labels=attributes, logits=outputs["attributes"]
            ),
            axis=1,
        )
    with tf.name_scope("metrics"):
        digit_right = tf.cast(
            tf.equal(tf.argmax(outputs["digit"], 1), digits), tf.float32
        )
        attribute_right = tf.cast(
            tf.equal(
                tf.cast(outputs["attributes"] > 0, tf.float32), attributes
            ),
            tf.float32,
        )
    metrics = {
        "accuracy": digit_right,
        "digit_loss": digit_loss,
        "attribute_loss": attribute_loss,
    }
    metrics.update(
        {
            f"{name}_accuracy": attribute_right[:, i]
            for i, name in enumerate(ATTRIBUTES)
        }
    )
    return Objective(digit_loss + attribute_loss, metrics)


@lesson.step("one trunk, two heads, the losses summed")
def build(ctx):
    """The trunk's features feed both heads, so both losses' gradients shape it. The sigmoid
    head uses sigmoid_cross_entropy_with_logits: one binary cross-entropy per attribute.
    The model returns both heads' logits; the objective (what the trainer minimises and
    reports) adds the two losses."""
    with tf.Graph().as_default():
        outputs, params = two_heads(
            tf.placeholder(tf.float32, [None, 28, 28, 1]), tf.constant(False)
        )
        shapes = {name: str(t.shape) for name, t in outputs.items()}
    return {"outputs": shapes, "variables": list(params)}


@lesson.step("train on both losses; watch each head")
def fit(ctx):
    """lowtf.train.train runs lesson 10's loop with this objective instead of the plain
    classification one: every metric it returns gets its own curve in TensorBoard
    (digit_loss, attribute_loss, each attribute's accuracy), train and test side by side."""
    splits = load_splits(validation_size=0, test_size=TEST_IMAGES[ctx.mode])
    config = TrainConfig(
        steps=STEPS[ctx.mode],
        batch_size=BATCH_SIZE,
        seed=0,
        name="two heads",
        eval_every=STEPS[ctx.mode] // 5,
        eval_subset=EVAL_IMAGES,  # the curves' points; the end scores all
    )
    h = train(
        two_heads,
        splits,
        lambda step: tf.train.AdamOptimizer(LEARNING_RATE),
        config,
        ctx.logdir,
        objective=two_losses,
    )
    first, last, test = (
        h.train_metrics[0],
        h.train_metrics[-1],
        h.final_test_metrics,
    )
    attribute_accuracy = {
        name: round(test[f"{name}_accuracy"], 4) for name in ATTRIBUTES
    }
    ctx.record(
        digit_loss_first=round(first["digit_loss"], 4),
        digit_loss_last=round(last["digit_loss"], 4),
        attribute_loss_first=round(first["attribute_loss"], 4),
        attribute_loss_last=round(last["attribute_loss"], 4),
        digit_test_accuracy=round(test["accuracy"], 4),
        attribute_test_accuracy=attribute_accuracy,
    )
    return {
        "digit test accuracy": test["accuracy"],
        "attribute test accuracy": attribute_accuracy,
        "losses (first point -> last)": {
            "digit": (first["digit_loss"], last["digit_loss"]),
            "attributes": (first["attribute_loss"], last["attribute_loss"]),
        },
        "tensorboard": ctx.tensorboard(),
    }


if __name__ == "__main__":
    raise SystemExit(lesson.main())
