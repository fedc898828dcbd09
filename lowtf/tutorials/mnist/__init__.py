"""Drop-in home for ``tensorflow.examples.tutorials.mnist``: ``from lowtf.tutorials.mnist import input_data``."""
