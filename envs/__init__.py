"""Gymnasium environments (registered as stepsize/<Name>-v0)."""

import gymnasium

gymnasium.register(id="stepsize/LearningRate-v0", entry_point="envs.learning_rate:LearningRateEnv")
