"""Exercise 17 (a solution): linear regression trained by hand in a graph.

Write the gradient of the mean squared error of a line y_hat = w x + b from the formula
(no tf.gradients, no optimizer), then train w and b with it: a Session, a loop of
gradient-descent steps made of tf.assign_sub, starting from w = b = 0.

Checked as a learner file would be: lowtf check 17 --file exercises/solutions/17_linear_regression_by_hand.py
Re-read: lesson 30, step "the gradient" and step "the training loop".
"""
import numpy as np
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()


def gradients_by_hand(x: tf.Tensor, y: tf.Tensor, w: tf.Variable, b: tf.Variable):
    """x, y [N]; w, b scalar Variables. The loss is mean((w x + b - y)^2). Returns the two
    scalar tensors (dloss/dw, dloss/db), written from the formula: with the residuals
    r = w x + b - y, dloss/dw = 2 mean(r x) and dloss/db = 2 mean(r)."""
    r = w * x + b - y
    return 2.0 * tf.reduce_mean(r * x), 2.0 * tf.reduce_mean(r)


def fit_line(xs: np.ndarray, ys: np.ndarray, steps: int, rate: float) -> tuple:
    """Fit y = w x + b to the points (xs, ys) by ``steps`` steps of gradient descent at
    ``rate`` from w = b = 0, every step on all the points. Returns (w, b) as floats."""
    x = tf.placeholder(tf.float32, [None], name="x")
    y = tf.placeholder(tf.float32, [None], name="y")
    w = tf.Variable(0.0, name="w")
    b = tf.Variable(0.0, name="b")
    grad_w, grad_b = gradients_by_hand(x, y, w, b)
    step = tf.group(tf.assign_sub(w, rate * grad_w), tf.assign_sub(b, rate * grad_b))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(steps):
            sess.run(step, {x: xs, y: ys})
        found_w, found_b = sess.run([w, b])
    return float(found_w), float(found_b)
