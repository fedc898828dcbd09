"""Exercise 03: a convolution layer with its Variables in a name scope."""
import numpy as np
import tensorflow.compat.v1 as tf

from lowtf.practice.checking import check, expect, expect_close

HINT = "with tf.name_scope(name): w = tf.Variable(..., name=\"weights\"); b = tf.Variable(..., name=\"biases\")"


@check(HINT, ("08", "a dense layer is a name scope"))
def test_variables_live_in_the_scope(ex):
    y, (w, b) = ex.conv_layer(tf.zeros([2, 28, 28, 1]), 8, 5, "conv1")
    expect(w.op.name == "conv1/weights" and b.op.name == "conv1/biases", "conv1/weights and conv1/biases",
           f"{w.op.name} and {b.op.name}")
    expect(w.shape.as_list() == [5, 5, 1, 8] and b.shape.as_list() == [8], "shapes [5, 5, 1, 8] and [8]",
           f"{w.shape} and {b.shape}")


@check("padding=\"SAME\" and strides [1, 1, 1, 1] keep the height and width", ("09", "SAME keeps the size"))
def test_output_shape_and_values(ex):
    x = np.random.RandomState(1).rand(2, 6, 6, 3).astype(np.float32)
    y, (w, b) = ex.conv_layer(tf.constant(x), 4, 3, "layer")
    expect(y.shape.as_list() == [2, 6, 6, 4], "output shape [2, 6, 6, 4]", str(y.shape))
    expect(any(op.type == "Conv2D" for op in tf.get_default_graph().get_operations()), "a Conv2D op", "none")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        out, weights, biases = sess.run([y, w, b])
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    want = np.zeros((2, 6, 6, 4))
    for i in range(6):
        for j in range(6):
            want[:, i, j, :] = np.tensordot(padded[:, i:i + 3, j:j + 3, :], weights, axes=3)
    expect_close(out, np.maximum(want + biases, 0), "relu(conv(x) + b)", atol=1e-4)
