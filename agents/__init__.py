"""stable-baselines3 training, evaluation, and trained policies as step-size controllers.

>>> import agents
>>> model = agents.load_default_policy()            # the shipped ThreeBody-v0 policy
>>> env = agents.make_env("default")                 # the environment it was trained on
>>> action, _ = model.predict(env.reset(seed=1_000_000)[0], deterministic=True)
>>> ctrl = agents.default_controller()              # it, steering Hermite's eta
>>> from stepsize.nbody import paper_three_body
>>> result = ctrl.run(paper_three_body(1_000_000), 1.0)   # integrate(..., controller=ctrl)
>>> result.status, len(ctrl.actions)
('done', 10)

The names below load on first use (PEP 562), so ``stepsize`` commands that do not train or
evaluate agents start without importing torch and stable-baselines3.
"""

import importlib

_EXPORTS = {
    "LinearEtaPolicy": "_linear",
    "PolicyController": "_controller",
    "interacting_triple": "_controller",
    "EVAL_SEED": "_evaluate",
    "Evaluation": "_evaluate",
    "evaluate": "_evaluate",
    "evaluate_transfer": "_evaluate",
    "default_controller": "_pretrained",
    "default_policy_config": "_pretrained",
    "load_default_policy": "_pretrained",
    "make_env": "_pretrained",
    "ALGORITHMS": "_train",
    "DQN_PAPER": "_train",
    "PPO_DEFAULTS": "_train",
    "latest_checkpoint": "_train",
    "load": "_train",
    "train": "_train",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'agents' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"agents.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
