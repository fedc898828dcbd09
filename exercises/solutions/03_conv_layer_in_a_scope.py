"""Exercise 03 (a solution): a convolution layer with its Variables in a name scope.

Write a conv layer from raw ops: its weights and biases are Variables created inside a
name scope, so their names read like paths (conv1/weights).

Checked as a learner file would be: lowtf check 03 --file exercises/solutions/03_conv_layer_in_a_scope.py
Re-read: lesson 08, step "a dense layer is a name scope", and lesson 09, steps
"four 7x7 filters" and "SAME keeps the size".
"""
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()


def conv_layer(x: tf.Tensor, filters: int, size: int, name: str):
    """x [N, H, W, C] -> (relu(conv2d(x, W, stride 1, SAME) + b) of shape [N, H, W, filters], [W, b]).
    Inside tf.name_scope(name): W = Variable "weights" [size, size, C, filters] (truncated normal,
    stddev 0.1), b = Variable "biases" [filters] (0.1)."""
    channels = int(x.shape[-1])
    with tf.name_scope(name):
        w = tf.Variable(tf.truncated_normal([size, size, channels, filters], stddev=0.1), name="weights")
        b = tf.Variable(tf.constant(0.1, shape=[filters]), name="biases")
        y = tf.nn.relu(tf.nn.conv2d(x, w, strides=[1, 1, 1, 1], padding="SAME") + b)
    return y, [w, b]
