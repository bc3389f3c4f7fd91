"""Gymnasium environments (registered as stepsize/<Name>-v0).

:func:`register` adds them to Gymnasium's registry; it runs when this package is imported and,
through the entry-point group ``stepsize.envs`` (pyproject.toml), when gymnasium is imported in
a program that imported ``stepsize``.  It uses ``gymnasium.envs.registration`` only, so it also
works as a plugin of the group ``gymnasium.envs`` that Gymnasium 0.26-0.29 load while
``gymnasium`` itself is still being imported.
"""

ENVIRONMENTS = {
    "stepsize/LearningRate-v0": "envs.learning_rate:LearningRateEnv",
    "stepsize/ThreeBody-v0": "envs.three_body:ThreeBodyEnv",
    "stepsize/ODEStep-v0": "envs.ode_step:ODEStepEnv",
}


def register():
    """Register every environment of the package not yet in the registry (no override warning).

    Defined before gymnasium is imported: importing it here may run :mod:`stepsize._gymnasium`'s
    hook, which calls this function of the half-imported package."""
    from gymnasium.envs.registration import register as add
    from gymnasium.envs.registration import registry

    for env_id, entry_point in ENVIRONMENTS.items():
        if env_id not in registry:
            add(id=env_id, entry_point=entry_point)


register()


def __getattr__(name):
    """``envs.ThreeBodyVecEnv`` on first use (it imports stable-baselines3 and torch)."""
    if name == "ThreeBodyVecEnv":
        from envs.vector import ThreeBodyVecEnv

        return ThreeBodyVecEnv
    raise AttributeError(f"module 'envs' has no attribute {name!r}")
