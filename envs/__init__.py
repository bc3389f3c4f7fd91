"""Gymnasium environments (registered as stepsize/<Name>-v0)."""

import gymnasium

gymnasium.register(id="stepsize/LearningRate-v0", entry_point="envs.learning_rate:LearningRateEnv")
gymnasium.register(id="stepsize/ThreeBody-v0", entry_point="envs.three_body:ThreeBodyEnv")
gymnasium.register(id="stepsize/ODEStep-v0", entry_point="envs.ode_step:ODEStepEnv")


def __getattr__(name):
    """``envs.ThreeBodyVecEnv`` on first use (it imports stable-baselines3 and torch)."""
    if name == "ThreeBodyVecEnv":
        from envs.vector import ThreeBodyVecEnv

        return ThreeBodyVecEnv
    raise AttributeError(f"module 'envs' has no attribute {name!r}")
