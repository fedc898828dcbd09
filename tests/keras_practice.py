"""Run in a process of its own by test_exercises_keras.py (Keras runs eagerly; the test process is in graph
mode): every Keras exercise's checks on its solution, its untouched template and its known cheats, in
one process (--no-cheats: solutions and templates only; --cheats-only: the cheats only). Prints one
JSON line: {label: [[check, passed, report], ...]}.

Known cheats of the Keras exercises: each must fail at least one check, with a report in words.
"""
import json
import sys
import tempfile
from pathlib import Path

CHEATS = {
    "13": {
        "pixels loaded in Python, then from_tensor_slices": '''
import keras, numpy as np, tensorflow as tf
from pathlib import Path
from PIL import Image
def training_dataset(folder, batch_size, seed):
    classes = sorted(p for p in Path(folder).iterdir() if p.is_dir())
    items = [(np.asarray(Image.open(f))[..., None] / 255.0, k) for k, c in enumerate(classes) for f in sorted(c.glob("*.png"))]
    x = np.stack([i for i, _ in items]).astype("float32"); y = np.array([k for _, k in items])
    return tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(y), seed=seed).batch(batch_size).prefetch(1)
def train(folder, epochs):
    raise NotImplementedError
''',
        "fit on arrays, the pipeline unused": '''
import keras, numpy as np, tensorflow as tf
from pathlib import Path
from PIL import Image
def training_dataset(folder, batch_size, seed):
    raise NotImplementedError
def train(folder, epochs):
    classes = sorted(p for p in Path(folder).iterdir() if p.is_dir())
    items = [(np.asarray(Image.open(f))[..., None] / 255.0, k) for k, c in enumerate(classes) for f in sorted(c.glob("*.png"))]
    x = np.stack([i for i, _ in items]).astype("float32"); y = np.array([k for _, k in items])
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(len(classes), activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=epochs, verbose=0)
    return model
''',
    },
    "14": {
        "one output holding both heads": '''
import keras
def two_heads(classes, attributes):
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Dense(16, activation="relu")(keras.layers.Flatten()(inputs))
    return keras.Model(inputs, keras.layers.Dense(classes + attributes, activation="sigmoid")(x))
def compile_two_heads(model):
    model.compile(optimizer="adam", loss="binary_crossentropy")
''',
        "one loss for both outputs": '''
import keras
def two_heads(classes, attributes):
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Dense(16, activation="relu")(keras.layers.Flatten()(inputs))
    return keras.Model(inputs, {"kind": keras.layers.Dense(classes, activation="softmax", name="kind")(x),
                                "attributes": keras.layers.Dense(attributes, activation="sigmoid", name="attributes")(x)})
def compile_two_heads(model):
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
''',
    },
    "15": {
        "stops after the first epoch, whatever the metric": '''
import keras
class StopAtTarget(keras.callbacks.Callback):
    def __init__(self, target, monitor="val_accuracy"):
        super().__init__(); self.target, self.monitor, self.stopped_epoch = target, monitor, None
    def on_epoch_end(self, epoch, logs=None):
        self.model.stop_training = True; self.stopped_epoch = epoch
''',
        "keras.callbacks.EarlyStopping in its place": '''
import keras
class StopAtTarget(keras.callbacks.EarlyStopping):
    def __init__(self, target, monitor="val_accuracy"):
        super().__init__(monitor=monitor, baseline=target, patience=0)
        self.target = target
''',
    },
    "16": {
        "a client that never asks the server": '''
import keras, numpy as np
def export(model, base_path, version):
    folder = f"{base_path}/{version}"; model.export(folder, verbose=False); return folder
def predict_over_rest(url, images):
    return np.full((len(images), 3), 1 / 3)
''',
        "a SavedModel with no version folder": '''
import keras, numpy as np, requests
def export(model, base_path, version):
    model.export(base_path, verbose=False); return base_path
def predict_over_rest(url, images):
    return np.array(requests.post(url, json={"instances": images.tolist()}, timeout=30).json()["predictions"])
''',
    },
    "27": {
        "a mirror as well as the shift": '''
import keras
def augmenter(shift, seed=0):
    return keras.Sequential([keras.layers.RandomFlip("horizontal", seed=seed),
                             keras.layers.RandomTranslation(shift, shift, fill_mode="constant", seed=seed)])
''',
        "a fixed shift in the model, at inference too": '''
import keras
from keras import ops
def augmenter(shift, seed=0):
    pixels = max(1, int(28 * shift))
    return keras.Sequential([keras.layers.Lambda(lambda x: ops.roll(x, pixels, axis=1))])
''',
        "a zoom in place of a shift": '''
import keras
def augmenter(shift, seed=0):
    return keras.Sequential([keras.layers.RandomZoom(shift, fill_mode="constant", seed=seed)])
''',
    },
}


def main() -> None:
    from lowtf import console

    console.load_tensorflow()
    from lowtf.practice.exercises import find_exercises, run_checks

    exercises = find_exercises()
    results = {}

    def run(label, exercise, file):
        results[label] = [[r.name, r.passed, r.report] for r in run_checks(exercise, file)]

    flags = {a for a in sys.argv[1:] if a.startswith("--")}
    with tempfile.TemporaryDirectory() as tmp:
        for number in [a for a in sys.argv[1:] if not a.startswith("--")]:
            exercise = exercises[number]
            if "--cheats-only" not in flags:
                run(f"{number} solution", exercise, exercise.solution)
                run(f"{number} template", exercise, exercise.template)
            if "--no-cheats" in flags:
                continue
            for name, source in CHEATS.get(number, {}).items():
                cheat = Path(tmp) / f"cheat_{number}_{len(results)}.py"
                cheat.write_text(source)
                run(f"{number} cheat: {name}", exercise, cheat)
    print(json.dumps(results), flush=True)


if __name__ == "__main__":
    main()
