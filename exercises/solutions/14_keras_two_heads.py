"""Exercise 14: a functional Keras model with two named outputs, a loss for each.

One trunk, two heads: "kind" says which of ``classes`` kinds an image shows (softmax), and
"attributes" gives a probability for each of ``attributes`` yes/no questions (sigmoid, several
can be yes at once). Keras minimises 1.0 * kind loss + 0.5 * attributes loss.

Keras runs eagerly: this file uses TensorFlow 2 as it is (no tf.compat.v1, no disable_v2_behavior).
Check your work: lowtf check 14
Re-read: lesson 24, steps "a functional model with two named outputs",
"compile with a loss per output" and "fit on the files".
"""
import keras


def two_heads(classes: int, attributes: int) -> keras.Model:
    """Input: images [N, 28, 28, 1]. Outputs, by name: "kind" [N, classes] (each row sums to 1) and
    "attributes" [N, attributes] (each value a probability). Built with the functional API."""
    inputs = keras.Input((28, 28, 1), name="image")
    x = keras.layers.Conv2D(8, 5, activation="relu")(inputs)
    x = keras.layers.MaxPooling2D(4)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(32, activation="relu")(x)
    kind = keras.layers.Dense(classes, activation="softmax", name="kind")(x)
    attribute_probabilities = keras.layers.Dense(attributes, activation="sigmoid", name="attributes")(x)
    return keras.Model(inputs, {"kind": kind, "attributes": attribute_probabilities})


def compile_two_heads(model: keras.Model) -> None:
    """Compile with a loss per output (sparse categorical cross-entropy for "kind", binary cross-entropy
    for "attributes"), loss weights 1.0 and 0.5, Adam with learning rate 0.01, and an accuracy per output."""
    model.compile(optimizer=keras.optimizers.Adam(0.01),
                  loss={"kind": "sparse_categorical_crossentropy", "attributes": "binary_crossentropy"},
                  loss_weights={"kind": 1.0, "attributes": 0.5},
                  metrics={"kind": ["accuracy"], "attributes": [keras.metrics.BinaryAccuracy(name="accuracy")]})
