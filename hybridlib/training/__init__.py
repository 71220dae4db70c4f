"""Training: a validated YAML config and a resumable, multi-process trainer.

from hybridlib.training import TrainConfig, train
result = train(TrainConfig.from_yaml("configs/hybrid.yaml"))
"""

from hybridlib.training.checkpoints import CheckpointError, checkpoint_paths
from hybridlib.training.config import ConfigError, DataConfig, TrainConfig
from hybridlib.training.step import StepResult, Training, build_training, distribute, train_step
from hybridlib.training.trainer import TrainResult, load_training_pairs, train

__all__ = [
    "CheckpointError",
    "ConfigError",
    "StepResult",
    "Training",
    "build_training",
    "distribute",
    "train_step",
    "DataConfig",
    "TrainConfig",
    "TrainResult",
    "checkpoint_paths",
    "load_training_pairs",
    "train",
]
