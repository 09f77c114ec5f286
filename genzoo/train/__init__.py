"""Training loop, runs, checkpoints."""

from genzoo.train.checkpoint import load_checkpoint, save_checkpoint
from genzoo.train.stream import BatchStream
from genzoo.train.trainer import TrainConfig, Trainer

__all__ = ["BatchStream", "TrainConfig", "Trainer", "load_checkpoint", "save_checkpoint"]
