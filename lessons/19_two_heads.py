"""Two heads, two losses: one trunk, a softmax head for the digit and a sigmoid head for its attributes."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on

import numpy as np
import tensorflow.compat.v1 as tf

from lowtf.data.splits import load_splits
from lowtf.nn import conv2d, dense, flatten, max_pool

tf.disable_v2_behavior()

lesson = Lesson("19", "two heads")

ATTRIBUTES = ("even", "prime", "at_least_five", "closed_loop")
# One row per digit 0..9: is it even, prime, >= 5, drawn with a closed loop (0, 6, 8, 9)?
ATTRIBUTE_TABLE = np.array([[d % 2 == 0, d in (2, 3, 5, 7), d >= 5, d in (0, 6, 8, 9)] for d in range(10)],
                           np.float32)


@lesson.step("labels for the second head come from the first: a lookup table in the graph")
def labels(ctx):
    """The course's multi-output Keras article predicted weather (one of several) and ground
    (several at once) from satellite images. On digits:
    the class is one-of-ten (softmax), the attributes are four independent yes/no
    questions (one sigmoid each, several can be true)."""
    return {"attributes": ATTRIBUTES, "table (rows = digits 0..9)": ATTRIBUTE_TABLE.astype(int).tolist()}


@lesson.step("one trunk, two heads, losses summed; each head's metrics in TensorBoard")
def build(ctx):
    """The trunk's features feed both heads, so both losses' gradients shape it. The sigmoid
    head uses sigmoid_cross_entropy_with_logits: one binary cross-entropy per attribute."""
    tf.set_random_seed(0)
    splits = load_splits(validation_size=0, test_size=2000 if ctx.fast else None)
    ctx.test = splits.test
    x = tf.placeholder(tf.uint8, [None, 28, 28, 1])
    y = tf.placeholder(tf.int64, [None])
    ds = (tf.data.Dataset.from_tensor_slices((x, y)).shuffle(60000, seed=0).repeat().batch(128)
          .map(lambda i, l: (tf.cast(i, tf.float32) / 255.0, l)).prefetch(2))
    ctx.iterator = tf.data.make_initializable_iterator(ds)
    ctx.init_feed = {x: splits.train.images, y: splits.train.labels}
    stream_images, stream_labels = ctx.iterator.get_next()
    ctx.images = tf.placeholder_with_default(stream_images, [None, 28, 28, 1], name="images")
    ctx.digits = tf.placeholder_with_default(stream_labels, [None], name="digits")
    with tf.name_scope("trunk"):
        h, _ = conv2d(ctx.images, 32, 5, "conv1")
        h, _ = conv2d(max_pool(h, "pool1"), 64, 5, "conv2")
        features, _ = dense(flatten(max_pool(h, "pool2")), 256, "fc")
    digit_logits, _ = dense(features, 10, "digit_head", activation=None)
    attribute_logits, _ = dense(features, len(ATTRIBUTES), "attribute_head", activation=None)
    attributes = tf.gather(tf.constant(ATTRIBUTE_TABLE), ctx.digits)
    with tf.name_scope("losses"):
        ctx.digit_loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=ctx.digits,
                                                                                       logits=digit_logits))
        ctx.attribute_loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=attributes,
                                                                                    logits=attribute_logits))
        total = ctx.digit_loss + ctx.attribute_loss
    with tf.name_scope("metrics"):
        ctx.digit_accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(digit_logits, 1), ctx.digits), tf.float32))
        correct = tf.cast(tf.equal(tf.cast(attribute_logits > 0, tf.float32), attributes), tf.float32)
        ctx.attribute_accuracy = tf.reduce_mean(correct, axis=0)  # one accuracy per attribute
    summaries = [tf.summary.scalar("digit_head/loss", ctx.digit_loss),
                 tf.summary.scalar("digit_head/accuracy", ctx.digit_accuracy),
                 tf.summary.scalar("attribute_head/loss", ctx.attribute_loss)]
    summaries += [tf.summary.scalar(f"attribute_head/{name}_accuracy", ctx.attribute_accuracy[i])
                  for i, name in enumerate(ATTRIBUTES)]
    ctx.merged_summary = tf.summary.merge(summaries)
    ctx.train_op = tf.train.AdamOptimizer(1e-3).minimize(total)
    return {"digit logits": digit_logits.shape, "attribute logits": attribute_logits.shape}


@lesson.step("train on both losses; watch each head")
def fit(ctx):
    """The loop is the trainer's in miniature, written out because it fetches two losses
    and per-attribute metrics the standard trainer does not know about."""
    steps = 150 if ctx.fast else 1500
    writer = tf.summary.FileWriter(str(ctx.logdir), tf.get_default_graph())
    losses = []
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(ctx.iterator.initializer, ctx.init_feed)
        for step in range(1, steps + 1):
            _, dl, al, summary = sess.run([ctx.train_op, ctx.digit_loss, ctx.attribute_loss, ctx.merged_summary])
            if step % 10 == 0:
                writer.add_summary(summary, step)
            losses.append((dl, al))
        feed = {ctx.images: ctx.test.images / 255.0, ctx.digits: ctx.test.labels}
        digit_acc, attr_acc = sess.run([ctx.digit_accuracy, ctx.attribute_accuracy], feed)
    writer.close()
    first, last = np.mean(losses[:10], axis=0), np.mean(losses[-10:], axis=0)
    ctx.record(digit_loss_first=round(float(first[0]), 4), digit_loss_last=round(float(last[0]), 4),
               attribute_loss_first=round(float(first[1]), 4), attribute_loss_last=round(float(last[1]), 4),
               digit_test_accuracy=round(float(digit_acc), 4),
               attribute_test_accuracy={n: round(float(a), 4) for n, a in zip(ATTRIBUTES, attr_acc)})
    return {"digit test accuracy": digit_acc, "attribute test accuracy": dict(zip(ATTRIBUTES, attr_acc.round(4))),
            "losses (first 10 steps -> last 10)": {"digit": (first[0], last[0]), "attributes": (first[1], last[1])}}


if __name__ == "__main__":
    raise SystemExit(lesson.main())
