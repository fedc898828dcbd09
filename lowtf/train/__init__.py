"""The Session training loop of lesson 10, packaged for the lessons after it."""
from lowtf.train.hooks import Hook
from lowtf.train.trainer import History, TrainConfig, train

__all__ = ["History", "Hook", "TrainConfig", "train"]
