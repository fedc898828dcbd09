"""lowtf: learn TensorFlow the low-level way.

Importing ``lowtf`` is deliberately cheap: it does not import TensorFlow. The
subpackages that build graphs (``lowtf.nn``, ``lowtf.models``, ``lowtf.train``)
import ``tensorflow.compat.v1`` themselves.

Layout:
    lowtf.data         IDX files, offline MNIST / Fashion-MNIST, tf.data inputs
    lowtf.tutorials    the TF 1.x tutorials' MNIST package: ``input_data`` and the ``mnist`` model module
    lowtf.legacy       ``lowtf run``: TF 1.x scripts run unedited
    lowtf.lesson       the step-through lesson runner
    lowtf.nn           layers and losses written from raw ops
    lowtf.models       softmax regression, MLP, LeNet-5, the seed ConvNet
    lowtf.train        the Session training loop
    lowtf.viz          filter grids, GIFs, curves, confusion matrices
    lowtf.serve        a TF-Serving-compatible REST server
    lowtf.distributed  TF_CONFIG clusters and a local launcher
"""

__version__ = "0.1.0"

import os as _os
import sys as _sys
import warnings as _warnings

if "tensorflow" in _sys.modules and "TF_ENABLE_ONEDNN_OPTS" not in _os.environ:
    _warnings.warn("TensorFlow was imported before lowtf, so lowtf could not turn on its fast oneDNN CPU "
                   "kernels (LeNet-5 trains ~1.6x slower on AMD CPUs): import lowtf first", RuntimeWarning,
                   stacklevel=2)

# TensorFlow's C++ start-up chatter (oneDNN, CPU features) hides the lesson output;
# a user who wants it sets TF_CPP_MIN_LOG_LEVEL=0 explicitly.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# TensorFlow turns its oneDNN CPU kernels on only for some CPUs; on the AMD EPYC (AVX2)
# machines this course is tested on they are off, and turning them on made LeNet-5
# train 1.6x faster (880 -> 1,430 img/s). Must be set before TensorFlow is imported.
_os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
