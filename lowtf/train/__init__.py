"""The Session training loop every training lesson uses."""
from lowtf.train.hooks import FilterRecorder, Hook
from lowtf.train.trainer import History, TrainConfig, train

__all__ = ["FilterRecorder", "History", "Hook", "TrainConfig", "train"]
