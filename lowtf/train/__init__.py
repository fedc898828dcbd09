"""The Session training loop of lesson 10, packaged for the lessons after it."""
from lowtf.train.hooks import Hook
from lowtf.train.config import History, TrainConfig
from lowtf.train.trainer import train

__all__ = ["History", "Hook", "TrainConfig", "train"]
