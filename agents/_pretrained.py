"""The shipped ThreeBody-v0 policies and loading a policy by run directory or name.

Each ``pretrained/<name>.zip`` is the ``model.zip`` of one run of ``stepsize agent train``, and
``pretrained/<name>.json`` that run's ``config.json`` plus the exact ``command`` and a summary of
its learning curve:

* ``threebody_linear`` (the default): :class:`agents.LinearEtaPolicy`, log10 eta linear in four
  encounter features of the paper observation, learned by random search
  (``benchmarks/rl_search.py``) on training seeds 0-47; its weights are
  ``pretrained/threebody_linear.weights.json``.  On 100 held-out systems, 30 yr, it ends
  0.56 (seeds 1,000,000-1,000,099) and 0.68 (2,000,000-2,000,099) decades below the fixed-eta
  front near 2e3 steps (``benchmarks/rl_threebody.py``, ``benchmarks/rl_front.py``): one
  operating point, not a whole front;
* ``threebody_ppo``: PPO on ``observation="extended"``, ``reward="final"``; on held-out systems
  it picks eta = 4.64e-3 in 99.7% of its decisions, so it performs as that fixed eta (on the
  fixed-eta front, not below it);
* ``threebody_dqn_paper``: the faithful reproduction, DQN with the paper's settings on the
  paper's observation and reward (4.5 decades above the front).

A policy comes with the environment it was trained on: ``make_env(name)`` builds it, so
``load_default_policy(name).predict(make_env(name).reset()[0])`` works for every shipped name.

An ODE step controller, ``pretrained/<name>.json`` with ``"algo": "filter"`` (one of
``ODE_CONTROLLERS``), acts inside :func:`stepsize.ode.solve` and needs no environment:

* ``odestep_filter``: Dormand-Prince 5(4)'s step ratio as a linear function of the log error and
  step-ratio history (a Söderlind filter, 8 numbers) learned by the cross-entropy method on
  Kepler orbits and van der Pol oscillators (:mod:`agents._odestep`,
  ``benchmarks/rl_odestep.py``); ``load_default_policy("odestep_filter")`` and
  ``default_controller("odestep_filter")`` give the
  :class:`~stepsize.control.FilterController` to pass as ``solve(..., controller=...)``.  On
  60 held-out members (seeds 2000-2029 of each family) it needs 0.905x the evaluations of
  Hairer's PI controller at equal global error (Kepler 0.847x, van der Pol 0.968x), 0.954x
  counting only errors <= 1e-6.
"""

from pathlib import Path

from stepsize._errors import UsageError, read_json

PRETRAINED = Path(__file__).resolve().parent / "pretrained"
DEFAULT = "threebody_linear"
NAMES = ("threebody_linear", "threebody_ppo", "threebody_dqn_paper")
ODE_CONTROLLERS = ("odestep_filter",)


def _check(name):
    if name not in NAMES + ODE_CONTROLLERS:
        known = ", ".join(NAMES + ODE_CONTROLLERS)
        raise UsageError(f"name: unknown shipped policy {name!r}; known: {known}")
    return PRETRAINED / f"{name}.json"


def _ode_controller(name):
    from agents._odestep import PARAMETERS, controller_from

    c = default_policy_config(name)["controller"]
    return controller_from([c[k] for k in PARAMETERS], c["limiter"], name=name)


def default_policy_config(name=DEFAULT):
    """The training configuration of a shipped policy (with the command that made it)."""
    return read_json(_check(name), "policy config")


def load_default_policy(name=DEFAULT):
    """A shipped policy for ``stepsize/ThreeBody-v0``: for ``threebody_linear`` (the default) an
    :class:`agents.LinearEtaPolicy`, else a stable-baselines3 model; for a name of
    ``ODE_CONTROLLERS`` the learned :class:`~stepsize.control.FilterController`."""
    config_path = _check(name)
    if name in ODE_CONTROLLERS:
        return _ode_controller(name)
    if default_policy_config(name)["algo"] == "linear":
        from agents._linear import LinearEtaPolicy

        return LinearEtaPolicy.load(PRETRAINED / f"{name}.weights.json")
    from agents._train import ALGORITHMS, load_policy

    model = config_path.with_suffix(".zip")
    return load_policy(ALGORITHMS[default_policy_config(name)["algo"]], model, device="cpu")


def default_controller(name=DEFAULT, **kwargs):
    """:class:`agents.PolicyController` of a shipped policy, with the observation it was trained
    on; ``kwargs`` as PolicyController's (``method``, ``values``, ...).  For a name of
    ``ODE_CONTROLLERS``: its :class:`~stepsize.control.FilterController` (no ``kwargs``)."""
    if name in ODE_CONTROLLERS:
        if kwargs:
            raise UsageError(f"{name} is an ODE controller: it takes no {', '.join(kwargs)}")
        return _ode_controller(name)
    from agents._controller import PolicyController

    observation = default_policy_config(name)["env_kwargs"].get("observation", "paper")
    return PolicyController(load_default_policy(name), observation=observation, **kwargs)


def make_env(run="default", **overrides):
    """``gymnasium.make`` of the environment a policy was trained on: a shipped name ("default"
    or one of ``NAMES``) or a training directory; ``overrides`` replace entries of its
    ``env_kwargs`` (e.g. ``max_steps=300`` for the paper's 30 yr evaluation)."""
    import gymnasium as gym

    import envs  # noqa: F401  (registers the stepsize/... environments)

    name = DEFAULT if str(run) == "default" else str(run)
    if name in ODE_CONTROLLERS:
        raise UsageError(
            f"run: {name} is a step controller of stepsize.ode.solve and needs no environment"
        )
    if name in NAMES:
        config = default_policy_config(name)
    elif (Path(run) / "config.json").exists():
        config = read_json(Path(run) / "config.json", "agent config")
    else:
        raise UsageError(
            f"run: {run} is neither a shipped policy ({', '.join(NAMES)}) nor a "
            "training directory (no config.json)"
        )
    return gym.make(config["env"], **{**config.get("env_kwargs", {}), **overrides})


def load_run(run):
    """``(model, config)`` of a training directory, or of a shipped policy: "default" or one of
    ``NAMES``."""
    from agents._train import load

    name = DEFAULT if str(run) == "default" else str(run)
    if name in NAMES:
        return load_default_policy(name), default_policy_config(name)
    if not (Path(run) / "config.json").exists():
        raise UsageError(f"run: {run} is not a training directory (no config.json)")
    return load(run)
