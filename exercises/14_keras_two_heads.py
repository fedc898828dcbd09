"""Exercise 14: a functional Keras model with two named outputs, a loss for each.

One trunk, two heads: "kind" says which of ``classes`` kinds an image shows (softmax), and
"attributes" gives a probability for each of ``attributes`` yes/no questions (sigmoid, several
can be yes at once). Keras minimises 1.0 * kind loss + 0.5 * attributes loss.

Keras runs eagerly: this file uses TensorFlow 2 as it is (no tf.compat.v1, no disable_v2_behavior).
Complete the functions marked TODO, then check your work: lowtf check 14
Re-read: lesson 24, steps "a functional model with two named outputs",
"compile with a loss per output" and "fit on the files".
"""
import keras


def two_heads(classes: int, attributes: int) -> keras.Model:
    """Input: images [N, 28, 28, 1]. Outputs, by name: "kind" [N, classes] (each row sums to 1) and
    "attributes" [N, attributes] (each value a probability). Built with the functional API."""
    # TODO: inputs = keras.Input(...); a shared trunk (Conv2D, pooling, Flatten, Dense);
    # two Dense heads named "kind" and "attributes"; keras.Model(inputs, {"kind": ..., "attributes": ...})
    raise NotImplementedError("two_heads is not written yet")


def compile_two_heads(model: keras.Model) -> None:
    """Compile with a loss per output (sparse categorical cross-entropy for "kind", binary cross-entropy
    for "attributes"), loss weights 1.0 and 0.5, Adam with learning rate 0.01, and an accuracy per output."""
    # TODO: model.compile(optimizer=..., loss={...}, loss_weights={...}, metrics={...})
    raise NotImplementedError("compile_two_heads is not written yet")
