"""MNIST softmax regression (seed 002): one matmul, cross-entropy, gradient descent; >= 0.92."""
from lowtf.lesson import Lesson

import tensorflow.compat.v1 as tf

from lowtf.data.splits import load_splits
from lowtf.train import TrainConfig, train

tf.disable_v2_behavior()

lesson = Lesson("07", "mnist softmax")


def softmax_regression(images, training):
    """The seed's model with raw ops: y = softmax(x W + b), W and b starting at zero."""
    x = tf.reshape(images, [-1, 784])
    W = tf.Variable(tf.zeros([784, 10]), name="W")
    b = tf.Variable(tf.zeros([10]), name="b")
    logits = tf.matmul(x, W) + b
    return logits, {"W": W, "b": b}


@lesson.step("the data: 55,000 training, 5,000 validation and 10,000 test digits")
def data(ctx):
    """MNIST comes from lowtf's verified store as uint8 [N, 28, 28, 1]; the trainer's
    tf.data pipeline shuffles, batches and scales it to [0, 1] inside the graph."""
    ctx.splits = load_splits(validation_size=5000)
    return {"train": ctx.splits.train.images.shape, "validation": ctx.splits.validation.images.shape,
            "test": ctx.splits.test.images.shape, "first labels": ctx.splits.train.labels[:10]}


@lesson.step("the model: logits = x W + b; the loss: softmax cross-entropy")
def model(ctx):
    """Softmax regression has 7,850 parameters. Its cross-entropy loss is convex, so
    plain gradient descent with a large step (0.5, as the seed used) converges."""
    import inspect
    return {"model code": inspect.getsource(softmax_regression)}


@lesson.step("train with gradient descent from 0.5, halved each epoch, batches of 100")
def fit(ctx):
    """The trainer runs the Session loop: train steps from tf.data, the test set evaluated
    every 200 steps, loss/accuracy in TensorBoard (train and test side by side).
    The seed kept the step at 0.5 throughout; then the result is wherever the last noisy
    step lands (measured 0.917-0.920 after 1,000-3,000 steps). Halving the rate every
    epoch (550 steps) lets it settle: 0.922 after 2,000 steps."""
    steps = 300 if ctx.fast else 2000
    config = TrainConfig(steps=steps, batch_size=100, eval_every=200, resume=False, seed=0, progress=not ctx.fast)
    def optimizer(step, steps_per_epoch):
        rate = tf.train.exponential_decay(0.5, step, steps_per_epoch, 0.5, staircase=True)
        return tf.train.GradientDescentOptimizer(rate)
    h = train(softmax_regression, ctx.splits, optimizer, config, ctx.logdir)
    ctx.record(test_accuracy=round(h.final_test_accuracy, 4), steps=h.final_step,
               train_seconds=round(h.train_seconds, 1), images_per_second=round(h.images_per_second))
    return {"test accuracy": h.final_test_accuracy, "seconds": round(h.seconds, 1),
            "tensorboard": f"tensorboard --logdir {ctx.logdir}"}


if __name__ == "__main__":
    lesson.main()
