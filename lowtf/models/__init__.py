"""The course's models, built from ``lowtf.nn`` layers.

Every model is a function ``model(images, training) -> (logits, params)``:
``images`` is ``[N, H, W, C]`` float32 in [0, 1], ``training`` a bool scalar tensor,
``logits`` is ``[N, 10]``, and ``params`` an ordered dict of the Variables by scoped
name (``"conv1/weights"``), for summaries and filter pictures.
"""
from lowtf.models.convnet import convnet
from lowtf.models.lenet5 import lenet5
from lowtf.models.mlp import mlp
from lowtf.models.softmax import softmax_regression

MODELS = {"softmax": softmax_regression, "mlp": mlp, "lenet5": lenet5, "convnet": convnet}


def count_parameters(params: dict) -> int:
    """Total number of scalars in the Variables of ``params``."""
    total = 0
    for v in params.values():
        n = 1
        for d in v.shape:
            n *= int(d)
        total += n
    return total


__all__ = ["MODELS", "count_parameters", "lenet5", "mlp", "convnet", "softmax_regression"]
