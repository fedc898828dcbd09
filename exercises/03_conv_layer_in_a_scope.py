"""Exercise 03: a convolution layer with its Variables in a name scope.

Write a conv layer from raw ops: its weights and biases are Variables created inside a
name scope, so their names read like paths (conv1/weights).

Complete the functions marked TODO, then check your work: lowtf check 03
Re-read: lesson 08, step "a dense layer is a name scope", and lesson 09, steps
"four 7x7 filters" and "SAME keeps the size".
"""
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()


def conv_layer(x: tf.Tensor, filters: int, size: int, name: str):
    """x [N, H, W, C] -> (relu(conv2d(x, W, stride 1, SAME) + b) of shape [N, H, W, filters], [W, b]).
    Inside tf.name_scope(name): W = Variable "weights" [size, size, C, filters] (truncated normal,
    stddev 0.1), b = Variable "biases" [filters] (0.1)."""
    # TODO: with tf.name_scope(name): tf.Variable(..., name="weights"), tf.nn.conv2d(x, w, [1, 1, 1, 1], "SAME")
    raise NotImplementedError("conv_layer is not written yet")
