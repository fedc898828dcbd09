"""Exercise 17: linear regression trained by hand in a graph.

Write the gradient of the mean squared error of a line y_hat = w x + b from the formula
(no tf.gradients, no optimizer), then train w and b with it: a Session, a loop of
gradient-descent steps made of tf.assign_sub, starting from w = b = 0.

Complete the functions marked TODO, then check your work: lowtf check 17
Re-read: lesson 30, step "the gradient" and step "the training loop".
"""
import numpy as np
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()


def gradients_by_hand(x: tf.Tensor, y: tf.Tensor, w: tf.Variable, b: tf.Variable):
    """x, y [N]; w, b scalar Variables. The loss is mean((w x + b - y)^2). Returns the two
    scalar tensors (dloss/dw, dloss/db), written from the formula: with the residuals
    r = w x + b - y, dloss/dw = 2 mean(r x) and dloss/db = 2 mean(r)."""
    # TODO: r = w * x + b - y, then 2 * tf.reduce_mean(...) twice
    raise NotImplementedError("gradients_by_hand is not written yet")


def fit_line(xs: np.ndarray, ys: np.ndarray, steps: int, rate: float) -> tuple:
    """Fit y = w x + b to the points (xs, ys) by ``steps`` steps of gradient descent at
    ``rate`` from w = b = 0, every step on all the points. Returns (w, b) as floats."""
    # TODO: placeholders for x and y, Variables w and b (0.0), gradients_by_hand, one
    # update op (tf.group of two tf.assign_sub), then in a Session: initialise, and run
    # the update `steps` times with the points fed; return the two values
    raise NotImplementedError("fit_line is not written yet")
