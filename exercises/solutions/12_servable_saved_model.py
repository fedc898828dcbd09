"""Exercise 12 (a solution): a SavedModel that lowtf serve answers.

Export y = 2x + 1 as a SavedModel with a signature whose input is named "x" and output "y",
in a version folder, so `lowtf serve` (and TF Serving) can answer predictions.

Checked as a learner file would be: lowtf check 12 --file exercises/solutions/12_servable_saved_model.py
Re-read: lesson 21, steps "export a SavedModel", "simple_save" and
"saved_model_cli show".
"""
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()


def export(base_path: str, version: int = 1) -> str:
    """Write the SavedModel to base_path/version (x: float32 [None]) with
    tf.saved_model.simple_save; return that folder."""
    x = tf.placeholder(tf.float32, [None], name="x")
    y = tf.identity(2.0 * x + 1.0, name="y")
    path = f"{base_path}/{version}"
    with tf.Session() as sess:
        tf.saved_model.simple_save(sess, path, inputs={"x": x}, outputs={"y": y})
    return path
