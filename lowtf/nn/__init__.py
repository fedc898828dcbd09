"""Layers and losses written from raw TensorFlow ops, each inside its own name scope."""
from lowtf.nn.layers import conv2d, dense, dropout, flatten, he_stddev, max_pool, training_flag
from lowtf.nn.losses import (softmax_cross_entropy, softmax_cross_entropy_from_scratch,
                             softmax_cross_entropy_naive)

__all__ = ["conv2d", "dense", "dropout", "flatten", "he_stddev", "max_pool", "training_flag",
           "softmax_cross_entropy", "softmax_cross_entropy_from_scratch", "softmax_cross_entropy_naive"]
