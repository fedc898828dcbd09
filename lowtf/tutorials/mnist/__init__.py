"""Drop-in home for ``tensorflow.examples.tutorials.mnist``: ``from lowtf.tutorials.mnist import input_data``
(the data, no TensorFlow needed) and ``mnist`` (the tutorial's model module; imports TensorFlow)."""
