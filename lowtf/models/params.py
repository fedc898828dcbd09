"""Collecting a model's Variables by their scoped names."""
from __future__ import annotations

from collections import OrderedDict


def by_name(*variable_lists) -> "OrderedDict[str, object]":
    """``[[W, b], ...]`` -> ``{"conv1/weights": W, "conv1/biases": b, ...}`` (":0" dropped)."""
    return OrderedDict((v.op.name, v) for variables in variable_lists for v in variables)
