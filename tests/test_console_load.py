"""lowtf.console.load_tensorflow(keras_eagerly=False): TensorFlow without its eager Keras import."""
import subprocess
import sys

PROBE = """
import sys
from lowtf import console
console.load_tensorflow(keras_eagerly=False)
import tensorflow as tf
print("keras before:", "keras" in sys.modules, console.KERAS_EAGER_IMPORT in sys.modules)
print("session:", tf.compat.v1.Session(graph=tf.Graph()).list_devices()[0].device_type)
import keras
print("keras after:", keras.optimizers.Adam.__module__)
"""


def test_tensorflow_loads_without_keras_and_keras_loads_whole_when_imported():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "keras before: False False" in lines      # the stand-in is gone, and Keras never loaded
    assert "session: CPU" in lines
    assert "keras after: keras.src.optimizers.adam" in lines
    assert out.stderr == ""                           # still a quiet console
