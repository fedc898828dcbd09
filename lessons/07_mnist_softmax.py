"""MNIST softmax regression, as the TF 1.x tutorials wrote it: the loss, backprop, the feed_dict loop; about 92%."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on

import numpy as np
import tensorflow.compat.v1 as tf

from lowtf import verdicts
from lowtf.data import mnist as mnist_store
from lowtf.tutorials.mnist import input_data

tf.disable_v2_behavior()

lesson = Lesson("07", "mnist softmax")

# --- knobs -----------------------------------------------------------------------------
BATCH_SIZE = 100  # the tutorials' batch
# gradient descent on the mean loss (TF 1.x mnist_softmax.py)
LEARNING_RATE = 0.5
STEPS = {"fast": 300, "full": 3000}
EVAL_EVERY = 50  # steps between validation checks (and TensorBoard points)
PATIENCE = 6  # validation checks without a new best before stopping early
SEED = 0
LOSS_STEPS = 300  # steps of each run in the squared-error step
# the standard deviation of W for a start that is confidently wrong
BAD_START = 1.0


@lesson.step("the data: read_data_sets, as the TF 1.x tutorials loaded MNIST")
def data(ctx):
    """read_data_sets gives three DataSets: train (55,000), validation (5,000, the first
    rows of the training file) and test (10,000). Each image is a row of 784 floats in
    [0, 1]; with one_hot=True each label is a row of 10 with a single 1 (the digit 3 is
    [0,0,0,1,0,0,0,0,0,0]), the form the cross-entropy below compares against.
    The files come from the course's verified offline copy of MNIST."""
    ctx.mnist = mnist = input_data.read_data_sets(
        str(mnist_store.folder()), one_hot=True, seed=SEED
    )
    ctx.steps = STEPS[ctx.mode]
    return {
        "train": mnist.train.images.shape,
        "validation": mnist.validation.images.shape,
        "test": mnist.test.images.shape,
        "first label (one-hot)": mnist.train.labels[0],
        "pixel range": (mnist.train.images.min(), mnist.train.images.max()),
    }


@lesson.step("the model: y = softmax(x W + b)")
def model(ctx):
    """Softmax regression: one matrix multiply gives 10 scores (logits) per image, and
    softmax turns them into probabilities that sum to 1. W [784, 10] and b [10] start at
    zero (with no hidden layer there is no symmetry to break): 7,850 parameters. x and y_ are
    placeholders, filled with a batch on every run.
    Where it comes from: linear regression predicts a number, x w + b. Logistic regression
    squashes one such score through the sigmoid 1 / (1 + e^-z) into the probability of
    "yes". Softmax is the sigmoid for k classes: exponentiate the k scores and divide by
    their sum, so they are positive and add up to 1 (with two classes, softmax's first
    output is the sigmoid of the difference of the two scores)."""
    tf.set_random_seed(SEED)
    ctx.x = tf.placeholder(tf.float32, [None, 784], name="x")
    ctx.y_ = tf.placeholder(tf.float32, [None, 10], name="y_")
    ctx.W = tf.Variable(tf.zeros([784, 10]), name="W")
    ctx.b = tf.Variable(tf.zeros([10]), name="b")
    ctx.logits = tf.matmul(ctx.x, ctx.W) + ctx.b
    ctx.y = tf.nn.softmax(ctx.logits)
    return {"logits": ctx.logits, "y": ctx.y, "parameters": 784 * 10 + 10}


@lesson.step(
    "the tutorial's first loss, -sum(y_ * log(y)), and where it breaks"
)
def naive_loss(ctx):
    """Cross-entropy compares the predicted distribution y with the true one y_:
    -sum(y_ * log(y)). Written that way it fails on a confident wrong answer: softmax of
    logits [1000, 0, ...] is exactly [1, 0, ...] in float32, log(0) = -inf, and 0 * -inf
    is NaN, which then spreads into every weight. The fused op computes
    log(softmax(z)) as z - max(z) - log(sum(exp(z - max(z)))): every exponent is <= 0, so
    nothing overflows and the log never sees 0. It takes the logits, not y.
    Always name its arguments: the oldest tutorials called it as (y, y_), logits first,
    TensorFlow 0.x's order; TF 1.x refused positional arguments; TF 2.21's v1 op takes
    labels first, so that call now swaps them, and minimize fails with "No gradients
    provided" (the op lets no gradient through its labels)."""
    z = tf.constant([[1000.0] + [0.0] * 9])  # the model is sure it is a 0 ...
    label = tf.one_hot([1], 10)  # ... and it is a 1
    naive = -tf.reduce_sum(label * tf.log(tf.nn.softmax(z)))
    shifted = z - tf.reduce_max(z, axis=1, keepdims=True)
    log_sum = tf.log(tf.reduce_sum(tf.exp(shifted), axis=1, keepdims=True))
    by_hand = -tf.reduce_sum(label * (shifted - log_sum))
    fused = tf.reduce_sum(
        tf.nn.softmax_cross_entropy_with_logits_v2(labels=label, logits=z)
    )
    with tf.Session() as sess:
        naive_value, by_hand_value, fused_value = sess.run(
            [naive, by_hand, fused]
        )
    ctx.record(
        naive_loss_confident_wrong=float(naive_value),
        stable_loss_confident_wrong=float(fused_value),
        stable_by_hand_loss=float(by_hand_value),
    )
    return {
        "-sum(y_ * log(softmax(z)))": naive_value,
        "max-shifted, by hand": by_hand_value,
        "softmax_cross_entropy_with_logits_v2": fused_value,
    }


@lesson.step("the loss we train: the fused op, averaged over the batch")
def loss(ctx):
    """One cross-entropy per image, then the mean over the batch. The mean keeps the
    loss (and the step size below) independent of the batch size."""
    with tf.name_scope("cross_entropy"):
        ctx.cross_entropy = tf.reduce_mean(
            tf.nn.softmax_cross_entropy_with_logits_v2(
                labels=ctx.y_, logits=ctx.logits
            )
        )
    # "evaluation", not "accuracy": a summary named accuracy would then be
    # tagged accuracy_1 (tags take their op's name, made unique)
    with tf.name_scope("evaluation"):
        correct_prediction = tf.equal(
            tf.argmax(ctx.y, 1), tf.argmax(ctx.y_, 1)
        )
        ctx.accuracy = tf.reduce_mean(tf.cast(correct_prediction, tf.float32))
    return {"cross_entropy": ctx.cross_entropy, "accuracy": ctx.accuracy}


def softmax_run(mnist, loss_name: str, start_stddev: float) -> float:
    """Softmax regression trained LOSS_STEPS steps on ``loss_name``;
    returns its test accuracy. W starts at zero (``start_stddev`` 0) or
    random with that standard deviation."""
    with (
        tf.Graph().as_default()
    ):  # a graph of its own: the lesson's stays as it is
        x = tf.placeholder(tf.float32, [None, 784])
        y_ = tf.placeholder(tf.float32, [None, 10])
        start = (
            tf.random_normal([784, 10], stddev=start_stddev, seed=SEED)
            if start_stddev
            else tf.zeros([784, 10])
        )
        logits = tf.matmul(x, tf.Variable(start)) + tf.Variable(
            tf.zeros([10])
        )
        y = tf.nn.softmax(logits)
        if loss_name == "cross-entropy":
            loss = tf.reduce_mean(
                tf.nn.softmax_cross_entropy_with_logits_v2(
                    labels=y_, logits=logits
                )
            )
        else:  # squared error between probabilities and one-hot
            loss = tf.reduce_mean(tf.reduce_sum(tf.square(y - y_), axis=1))
        train_step = tf.train.GradientDescentOptimizer(
            LEARNING_RATE
        ).minimize(loss)
        accuracy = tf.reduce_mean(
            tf.cast(
                tf.equal(tf.argmax(y, 1), tf.argmax(y_, 1)), tf.float32
            )
        )
        # both losses see the same batches
        rng = np.random.RandomState(SEED)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(LOSS_STEPS):
                batch = rng.randint(0, len(mnist.train.images), BATCH_SIZE)
                sess.run(
                    train_step,
                    {
                        x: mnist.train.images[batch],
                        y_: mnist.train.labels[batch],
                    },
                )
            return float(
                sess.run(
                    accuracy, {x: mnist.test.images, y_: mnist.test.labels}
                )
            )


@lesson.step("why cross-entropy and not squared error")
def squared_error(ctx):
    """Squared error, sum((y - y_)^2), is the loss of regression, and it can train a
    classifier too. Its weakness is in the gradient: through the softmax it carries a
    factor y (1 - y) that is near 0 when the model is confidently wrong, the case that
    most needs a correction; cross-entropy's gradient on the logits is y - y_, largest
    exactly then. Below: the gradient for one confidently wrong image, then the same
    model trained LOSS_STEPS steps with each loss, from W = 0 (where no prediction is
    confident yet) and from random W with standard deviation BAD_START (where most are
    confident, and wrong)."""
    logits = tf.constant([[8.0, 0, 0, 0, 0, 0, 0, 0, 0, 0]])  # sure it is a 0
    truth = tf.constant([[0.0, 1, 0, 0, 0, 0, 0, 0, 0, 0]])  # it is a 1
    p = tf.nn.softmax(logits)
    gradients = {
        "cross-entropy": tf.gradients(
            tf.nn.softmax_cross_entropy_with_logits_v2(
                labels=truth, logits=logits
            ),
            logits,
        )[0],
        "squared error": tf.gradients(
            tf.reduce_sum(tf.square(p - truth)), logits
        )[0],
    }
    with tf.Session() as sess:
        sizes = {
            name: float(np.linalg.norm(g))
            for name, g in sess.run(gradients).items()
        }
    n, found, said = len(ctx.mnist.test.images), {}, []
    for start, stddev in (
        ("W = 0", 0.0),
        (f"random W, stddev {BAD_START}", BAD_START),
    ):
        found[start] = {
            name: round(softmax_run(ctx.mnist, name, stddev), 4)
            for name in ("cross-entropy", "squared error")
        }
        said.append(
            ctx.verdict(
                verdicts.accuracies(
                    f"test accuracy after {LOSS_STEPS} steps from {start}, "
                    "cross-entropy vs squared error",
                    *found[start].values(),
                    n,
                    names=("cross-entropy", "squared error"),
                )
            )
        )
    ctx.record(
        gradient_size_on_confident_mistake={
            k: round(v, 4) for k, v in sizes.items()
        },
        loss_comparison=found,
    )
    return {
        "size of the gradient on the logits, one confident mistake": {
            k: round(v, 4) for k, v in sizes.items()
        },
        f"test accuracy after {LOSS_STEPS} steps": found,
        "verdict from W = 0": said[0],
        "verdict from the random W": said[1],
    }


@lesson.step("backprop: tf.gradients checked by hand, one descent step")
def backprop(ctx):
    """Training is forward (x -> logits -> loss) then backward: the chain rule, applied
    from the loss back to every Variable, gives the gradient. tf.gradients builds those
    backward ops. For softmax cross-entropy the chain rule works out to
    dloss/dlogits = (softmax - y_) / N, so dloss/dW = x^T (softmax - y_) / N: numpy
    gets the same numbers. One gradient-descent step is W <- W - rate * dloss/dW;
    done by hand with tf.assign it matches what optimizer.minimize does."""
    grad_W, grad_b = tf.gradients(ctx.cross_entropy, [ctx.W, ctx.b])
    by_hand_step = tf.group(
        tf.assign_sub(ctx.W, LEARNING_RATE * grad_W),
        tf.assign_sub(ctx.b, LEARNING_RATE * grad_b),
    )
    optimizer = tf.train.GradientDescentOptimizer(LEARNING_RATE)
    minimize_step = optimizer.minimize(ctx.cross_entropy)
    rng = np.random.RandomState(SEED)
    start_W = rng.normal(0, 0.01, (784, 10)).astype(np.float32)
    xs = ctx.mnist.train.images[:BATCH_SIZE]
    ys = ctx.mnist.train.labels[:BATCH_SIZE]
    feed = {ctx.x: xs, ctx.y_: ys}
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        ctx.W.load(start_W, sess)
        tf_grad, probs = sess.run([grad_W, ctx.y], feed)
        numpy_grad = xs.T @ (probs - ys) / len(xs)
        sess.run(by_hand_step, feed)
        W_by_hand = sess.run(ctx.W)
        ctx.W.load(start_W, sess)
        sess.run(tf.variables_initializer([ctx.b]))
        sess.run(minimize_step, feed)
        W_minimize = sess.run(ctx.W)
    grad_diff = float(np.abs(tf_grad - numpy_grad).max())
    step_diff = float(np.abs(W_by_hand - W_minimize).max())
    ctx.record(
        gradient_vs_numpy_max_diff=grad_diff,
        hand_step_vs_minimize_max_diff=step_diff,
    )
    return {
        "dloss/dW": tf_grad.shape,
        "max |tf.gradients - numpy|": grad_diff,
        "max |W after the hand step - W after minimize|": step_diff,
    }


@lesson.step("sum or mean: the same learning rate means a different step")
def sum_or_mean(ctx):
    """The course's source article trains with GradientDescentOptimizer(0.01) on the
    loss -reduce_sum(y_ * log(y)): a sum over the batch of 100. A sum's gradient is 100
    times the mean's, so 0.01 on the sum is the step of 1.0 on the mean, twice the
    0.5-on-the-mean of TensorFlow's own mnist_softmax.py. A learning rate means nothing
    without the loss's reduction (and the batch size, when the loss is a sum)."""
    summed = tf.reduce_sum(
        tf.nn.softmax_cross_entropy_with_logits_v2(
            labels=ctx.y_, logits=ctx.logits
        )
    )
    (grad_sum,) = tf.gradients(summed, [ctx.W])
    (grad_mean,) = tf.gradients(ctx.cross_entropy, [ctx.W])
    feed = {
        ctx.x: ctx.mnist.train.images[:BATCH_SIZE],
        ctx.y_: ctx.mnist.train.labels[:BATCH_SIZE],
    }
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        g_sum, g_mean = sess.run([grad_sum, grad_mean], feed)
    ratio = float(np.linalg.norm(g_sum) / np.linalg.norm(g_mean))
    ctx.record(sum_over_mean_gradient_ratio=round(ratio, 3))
    return {
        "|gradient of the sum| / |gradient of the mean|": ratio,
        "0.01 on the sum = this rate on the mean": round(0.01 * ratio, 3),
    }


@lesson.step("the training loop: next_batch, feed_dict, validation")
def train(ctx):
    """The loop every TF 1.x tutorial wrote: fetch a batch of 100, run the train op with
    the batch fed into the placeholders. Every 50 steps the validation set and a fixed
    5,000 training images are scored, each into its own FileWriter, so TensorBoard draws
    the two curves side by side (the tutorials wrote one batch's summary: a noisy sample
    of a different batch at every point). The test set is
    not looked at here: choosing anything by its score would make that score optimistic.
    Early stopping: keep the weights of the best validation score (a Saver), and stop
    once several checks in a row bring no new best.
    Why 100 random images a step and not all 55,000: the gradient on a random batch is
    a noisy but unbiased estimate of the gradient on all of them, at 1/550 of the cost,
    and many cheap noisy steps get further than a few exact ones: stochastic gradient
    descent. next_batch reshuffles at every epoch, so the batches keep changing."""
    optimizer = tf.train.GradientDescentOptimizer(LEARNING_RATE)
    train_step = optimizer.minimize(ctx.cross_entropy)
    tf.summary.scalar("loss", ctx.cross_entropy)
    tf.summary.scalar("accuracy", ctx.accuracy)
    merged = tf.summary.merge_all()
    saver = tf.train.Saver(max_to_keep=1)
    best_path = str(ctx.logdir / "best" / "model")
    ctx.sess = sess = tf.Session()
    ctx.on_exit(sess.close)
    train_writer = tf.summary.FileWriter(str(ctx.logdir / "train"), sess.graph)
    validation_writer = tf.summary.FileWriter(str(ctx.logdir / "validation"))
    ctx.on_exit(train_writer.close)
    ctx.on_exit(validation_writer.close)
    validation_feed = {
        ctx.x: ctx.mnist.validation.images,
        ctx.y_: ctx.mnist.validation.labels,
    }
    # The train curve's points: a fixed 5,000 training images, scored
    # like the validation set (one batch of 100 per point would be a
    # noisy sample of a different batch each time)
    train_feed = {
        ctx.x: ctx.mnist.train.images[:5000],
        ctx.y_: ctx.mnist.train.labels[:5000],
    }

    sess.run(tf.global_variables_initializer())
    tf.get_default_graph().finalize()  # no op may be added inside the loop
    best, best_step, checks_since_best = -1.0, 0, 0
    for i in range(1, ctx.steps + 1):
        batch_xs, batch_ys = ctx.mnist.train.next_batch(BATCH_SIZE)
        _, loss_value = sess.run(
            [train_step, ctx.cross_entropy],
            feed_dict={ctx.x: batch_xs, ctx.y_: batch_ys},
        )
        if i % EVAL_EVERY == 0:
            train_writer.add_summary(sess.run(merged, feed_dict=train_feed), i)
            validation_accuracy, summary = sess.run(
                [ctx.accuracy, merged], feed_dict=validation_feed
            )
            validation_writer.add_summary(summary, i)
            if validation_accuracy > best:
                best, best_step, checks_since_best = validation_accuracy, i, 0
                saver.save(sess, best_path)
            else:
                checks_since_best += 1
            if i % 200 == 0:
                print(
                    f"   step {i:4d}: batch loss {loss_value:.3f}, "
                    f"validation accuracy {validation_accuracy:.4f}"
                )
            if checks_since_best >= PATIENCE:
                print(
                    f"   stopping early at step {i}: no better "
                    f"validation score since step {best_step}"
                )
                break
    ctx.best_path, ctx.saver = best_path, saver
    ctx.record(
        steps=i,
        best_validation_accuracy=round(float(best), 4),
        best_step=best_step,
        stopped_early=i < ctx.steps,
    )
    return {
        "steps run": i,
        "best validation accuracy": best,
        "at step": best_step,
        "tensorboard": ctx.tensorboard(),
    }


@lesson.step("evaluate once on the test set, with TensorFlow and numpy")
def evaluate(ctx):
    """Restore the best weights, then score the 10,000 test images: accuracy is the mean of
    argmax(y) == argmax(y_), computed by the graph or, from the fetched y, by numpy.
    The source article promises about 91%; TensorFlow's own tutorial about 92%."""
    ctx.saver.restore(ctx.sess, ctx.best_path)
    test_feed = {ctx.x: ctx.mnist.test.images, ctx.y_: ctx.mnist.test.labels}
    accuracy, output = ctx.sess.run([ctx.accuracy, ctx.y], feed_dict=test_feed)
    truth = np.argmax(ctx.mnist.test.labels, 1)
    numpy_accuracy = np.mean(np.argmax(output, 1) == truth)
    ctx.record(test_accuracy=round(float(accuracy), 4))
    return {
        "test accuracy (graph)": accuracy,
        "test accuracy (numpy)": numpy_accuracy,
    }


if __name__ == "__main__":
    raise SystemExit(lesson.main())
