"""``stepsize agent train`` and ``stepsize agent evaluate``."""

import json
from pathlib import Path

from stepsize._errors import UsageError, check_output_dir, check_seed, positive, user_input


def register(subparsers):
    """Add the ``agent`` subcommand and its actions to the top-level parser."""
    parser = subparsers.add_parser(
        "agent",
        help="train and evaluate RL step-size agents (Gymnasium + stable-baselines3)",
        description="Reinforcement-learning step-size controllers on the stepsize/... envs.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    train = actions.add_parser(
        "train",
        help="train DQN (the paper's settings) or PPO; checkpoints, --resume, learning curve",
        description="Train an agent; writes config.json, learning_curve.csv, checkpoints/ and "
        "model.zip into --out.",
    )
    train.add_argument("--env", default="ThreeBody-v0", help="environment (default ThreeBody-v0)")
    train.add_argument("--algo", default="dqn", help="dqn (default) or ppo")
    train.add_argument("--steps", type=int, default=100_000, help="environment steps")
    train.add_argument("--out", required=True, help="run directory")
    train.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    train.add_argument("--n-envs", type=int, default=1, help="parallel environment copies")
    train.add_argument("--subprocess", action="store_true", help="copies in worker processes")
    train.add_argument(
        "--vectorised", action="store_true", help="ThreeBody-v0 copies in one compiled call"
    )
    train.add_argument("--checkpoint-every", type=int, default=None, help="steps per checkpoint")
    train.add_argument("--resume", action="store_true", help="go on from the newest checkpoint")
    train.add_argument("--env-kwargs", default="{}", help="JSON dict of environment options")
    train.add_argument("--hyperparams", default="{}", help="JSON dict overriding the defaults")
    train.add_argument("--json", action="store_true", help="print JSON instead of a summary")
    train.set_defaults(func=run_train)

    evaluate = actions.add_parser(
        "evaluate",
        help="a ThreeBody-v0 policy vs every fixed eta on held-out seeds (JSON + Pareto PNG)",
        description="Evaluate a trained policy (a run directory, 'default' for the shipped one "
        "or 'threebody_dqn_paper' for the shipped reproduction of the paper) against each fixed "
        "action on held-out seeds that no training run uses.",
    )
    evaluate.add_argument("run", help="run directory of `stepsize agent train`, or a shipped name")
    evaluate.add_argument("--episodes", type=int, default=100, help="held-out episodes")
    evaluate.add_argument("--max-steps", type=int, default=300, help="steps per episode (300)")
    evaluate.add_argument("--seed", type=int, default=None, help="first held-out seed (1000000)")
    evaluate.add_argument("--workers", type=int, default=1, help="processes for fixed runs")
    evaluate.add_argument("--out", default=None, help="directory (default RUN/evaluation)")
    evaluate.add_argument("--json", action="store_true", help="print JSON instead of the table")
    evaluate.set_defaults(func=run_evaluate)


def _json_dict(text, name):
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{name}: not valid JSON ({exc.msg})") from None
    if not isinstance(value, dict):
        raise UsageError(f"{name}: expected a JSON object, got {text!r}")
    return value


def _check_train(args, env_kwargs, hyperparams):
    """Everything ``train`` would reject, checked before it starts (environment options by
    building one environment, hyperparameters against the algorithm's signature)."""
    import inspect

    import gymnasium as gym

    from agents._train import ALGORITHMS, env_id_of

    with user_input():
        env_id = env_id_of(args.env)
    if args.algo not in ALGORITHMS:
        raise UsageError(f"--algo: unknown {args.algo!r}; known: {', '.join(ALGORITHMS)}")
    for flag in ("steps", "n_envs", "checkpoint_every"):
        positive(getattr(args, flag), "--" + flag.replace("_", "-"), integer=True)
    check_seed(args.seed)
    accepted = inspect.signature(ALGORITHMS[args.algo]).parameters
    for name in hyperparams:
        if name not in accepted or name in ("policy", "env", "seed", "verbose"):
            raise UsageError(f"--hyperparams: {args.algo} has no hyperparameter {name!r}")
    with user_input("--env-kwargs"):
        gym.make(env_id, **env_kwargs).close()
    check_output_dir(args.out)


def run_train(args):
    """Handler of ``stepsize agent train``; returns the exit code."""
    from agents._train import train, training_summary

    env_kwargs = _json_dict(args.env_kwargs, "--env-kwargs")
    hyperparams = _json_dict(args.hyperparams, "--hyperparams")
    _check_train(args, env_kwargs, hyperparams)
    model = train(
        args.env,
        args.algo,
        args.steps,
        args.out,
        seed=args.seed,
        n_envs=args.n_envs,
        subprocess=args.subprocess,
        vectorised=args.vectorised,
        env_kwargs=env_kwargs,
        hyperparams=hyperparams,
        checkpoint_every=args.checkpoint_every,
        resume=args.resume,
    )
    summary = training_summary(model, args.out)
    print(
        json.dumps(summary, indent=2)
        if args.json
        else f"trained {summary['timesteps']} steps; model in {summary['model']}"
    )
    return 0


def run_evaluate(args):
    """Handler of ``stepsize agent evaluate``; returns the exit code."""
    from agents._evaluate import EVAL_SEED, check_seeds, evaluate, training_seeds
    from agents._pretrained import load_run

    for flag in ("episodes", "max_steps", "workers"):
        positive(getattr(args, flag), "--" + flag.replace("_", "-"), integer=True)
    model, config = load_run(args.run)
    if not str(config.get("env", "")).endswith("ThreeBody-v0"):
        raise UsageError(f"run: evaluate handles ThreeBody-v0 policies, got {config.get('env')}")
    training = training_seeds(config)
    with user_input("--seed"):
        check_seeds(args.episodes, EVAL_SEED if args.seed is None else args.seed, training)
    result = evaluate(
        model,
        args.episodes,
        env_kwargs=config.get("env_kwargs"),
        max_steps=args.max_steps,
        seed=EVAL_SEED if args.seed is None else args.seed,
        training_seeds=training,
        workers=args.workers,
    )
    shipped = not (Path(args.run) / "config.json").exists()
    out = Path(args.out or (f"evaluation_{args.run}" if shipped else Path(args.run) / "evaluation"))
    check_output_dir(out)
    js, png = result.save(out)
    if args.json:
        print(json.dumps(result.summary(), indent=2))
    else:
        print(result.table())
        print(f"wrote {js} and {png}")
    return 0


def demo_part(small, out):
    """The RL part of ``stepsize demo`` (entry point ``stepsize.demo``): the shipped policy
    against fixed eta on held-out paper three-body systems; ``(title, rows, caption)``."""
    import numpy as np

    import agents
    from stepsize.nbody import integrate, paper_three_body

    ctrl = agents.default_controller()
    seeds = range(agents.EVAL_SEED, agents.EVAL_SEED + (2 if small else 5))
    t_end = 3.0 if small else 10.0
    runs = {"RL policy": [ctrl.run(paper_three_body(s), t_end) for s in seeds]}
    for eta in (1e-3, 4.64e-3, 1e-2):
        runs[f"eta={eta:g}"] = [
            integrate(paper_three_body(s), t_end, method="hermite4", eta=eta) for s in seeds
        ]
    rows = [
        dict(
            controller=name,
            median_energy_error=float(np.median([r.energy_error for r in rs])),
            median_steps=float(np.median([r.steps for r in rs])),
        )
        for name, rs in runs.items()
    ]
    caption = f"Held-out paper three-body systems ({len(seeds)}), {t_end:g} yr"
    return "RL step controller", rows, caption
