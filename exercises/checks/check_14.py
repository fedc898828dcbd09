"""Exercise 14: a functional Keras model with two named outputs, a loss for each."""
import keras
import numpy as np

from lowtf.practice import synthetic
from lowtf.practice.checking import check, expect

HINT = ('kind = Dense(classes, activation="softmax", name="kind")(x); the same for "attributes" with sigmoid; '
        'compile(loss={"kind": "sparse_categorical_crossentropy", "attributes": "binary_crossentropy"}, '
        'loss_weights={"kind": 1.0, "attributes": 0.5})')


def data(per_class: int):
    """Images, kinds and two attributes each: is the square in the top half, is it on the left."""
    pixels, kinds = synthetic.images(per_class, classes=4)
    corners = np.array(synthetic.CORNERS)[kinds]
    attributes = np.stack([corners[:, 0] < 14, corners[:, 1] < 14], axis=1).astype(np.float32)
    return pixels[..., None].astype(np.float32) / 255.0, kinds, attributes


def by_name(model, outputs) -> dict:
    """A model's outputs by name, whether it returns a dict or a list."""
    if isinstance(outputs, dict):
        return {k: np.asarray(v) for k, v in outputs.items()}
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    return {name: np.asarray(v) for name, v in zip(model.output_names, outputs)}


@check(HINT, ("24", "a functional model with two named outputs"), keras=True)
def test_one_model_two_named_outputs(ex):
    model = ex.two_heads(4, 2)
    expect(isinstance(model, keras.Model) and not isinstance(model, keras.Sequential),
           "a functional keras.Model (a Sequential model has one output)", type(model).__name__)
    x, _, _ = data(2)
    outputs = by_name(model, model(x[:5]))
    expect(set(outputs) == {"kind", "attributes"}, 'outputs named "kind" and "attributes"', sorted(outputs))
    expect(outputs["kind"].shape == (5, 4) and outputs["attributes"].shape == (5, 2),
           "kind [5, 4] and attributes [5, 2] for 5 images",
           f"kind {outputs['kind'].shape}, attributes {outputs['attributes'].shape}")
    expect(np.allclose(outputs["kind"].sum(axis=1), 1, atol=1e-5), "kind rows that sum to 1 (softmax)",
           np.round(outputs["kind"].sum(axis=1), 3).tolist())
    expect(((outputs["attributes"] > 0) & (outputs["attributes"] < 1)).all(), "attribute probabilities in (0, 1) (sigmoid)",
           f"from {outputs['attributes'].min():.3f} to {outputs['attributes'].max():.3f}")


def compiled(ex, per_class: int):
    """The learner's model, compiled by the learner's code, and data for it: (model, x, kinds, attributes)."""
    keras.utils.set_random_seed(0)
    model = ex.two_heads(4, 2)
    ex.compile_two_heads(model)
    return (model, *data(per_class))


@check(HINT, ("24", "compile with a loss per output"), keras=True)
def test_each_output_its_own_loss_weighted(ex):
    model, x, kinds, attributes = compiled(ex, 5)
    got = model.evaluate(x, {"kind": kinds, "attributes": attributes}, batch_size=len(x), verbose=0, return_dict=True)
    expect({"kind_loss", "attributes_loss"} <= set(got), "a loss per output: kind_loss and attributes_loss",
           sorted(got))
    predicted = by_name(model, model.predict(x, verbose=0))
    p_kind = np.clip(predicted["kind"], 1e-7, 1 - 1e-7)
    p_attr = np.clip(predicted["attributes"], 1e-7, 1 - 1e-7)
    cross_entropy = -np.mean(np.log(p_kind[np.arange(len(kinds)), kinds]))
    binary = -np.mean(attributes * np.log(p_attr) + (1 - attributes) * np.log(1 - p_attr))
    expect(abs(got["kind_loss"] - cross_entropy) < 1e-3, f"kind_loss = sparse categorical cross-entropy ({cross_entropy:.4f})",
           round(got["kind_loss"], 4))
    expect(abs(got["attributes_loss"] - binary) < 1e-3, f"attributes_loss = binary cross-entropy ({binary:.4f})",
           round(got["attributes_loss"], 4))
    total = cross_entropy + 0.5 * binary
    expect(abs(got["loss"] - total) < 2e-3, f"loss = 1.0 * kind_loss + 0.5 * attributes_loss ({total:.4f})",
           round(got["loss"], 4))


@check(HINT, ("24", "fit on the files"), keras=True)
def test_both_heads_learn(ex):
    model, x, kinds, attributes = compiled(ex, 15)
    history = model.fit(x, {"kind": kinds, "attributes": attributes}, epochs=8, batch_size=20, verbose=0).history
    for head in ("kind", "attributes"):
        losses = history.get(f"{head}_loss", [])
        expect(len(losses) == 8 and losses[-1] < 0.5 * losses[0], f"{head}_loss at least halved over 8 epochs",
               [round(v, 3) for v in losses])
