"""stable-baselines3 training, evaluation, and trained policies as step-size controllers."""

from agents._train import ALGORITHMS, DQN_PAPER, PPO_DEFAULTS, latest_checkpoint, load, train

__all__ = ["ALGORITHMS", "DQN_PAPER", "PPO_DEFAULTS", "latest_checkpoint", "load", "train"]
