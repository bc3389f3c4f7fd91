"""Evaluating a ThreeBody-v0 policy against every fixed value of its parameter.

``evaluate(model, episodes)`` runs the policy and each of the 10 fixed actions on the same
held-out initial conditions, ``reset(seed=EVAL_SEED + k)`` for k < episodes: seeds a training run
never uses (``agents.train`` seeds its n_envs copies with seed .. seed + n_envs - 1 and every
later episode continues their generators).  Each episode runs ``max_steps`` = 300 steps (30 yr,
the paper's evaluation) unless |dE/E0| > 0.1 ends it.  Recorded per episode: the final energy
error |dE/E0|, integrator steps, force evaluations, wall time (``env.step`` calls plus policy
inference; the inference part on its own), environment steps per second (``env.step`` calls),
whether it terminated, and the return.

``evaluate_transfer`` does the same through :class:`agents.PolicyController` and
``stepsize.nbody.integrate`` for another integrator (by action index; a continuous action onto
log10 of the target's grid) or more bodies.  Its fixed runs go through the same loop, a
controller called every 0.1 yr that keeps the value: a Runge-Kutta method then restarts at each
decision as under the policy (with ``first_step`` the last step), so both pay the same for it.

The verdict compares medians: the policy is *dominated* if a fixed value has both a median
error and median steps no larger (one smaller); it lies *below the front* if its log10 median
error is below the fixed values' Pareto front, interpolated linearly in (log10 steps, log10 error)
at the policy's median steps (``margin_decades`` > 0); ``steps_ratio`` is its median steps over
the front's steps at its median error (same interpolation; both flat beyond the front's ends).
It *beats the front* (issue 16's bar) with ``margin_decades`` >= 0.5 or ``steps_ratio`` <= 0.7.
``Evaluation.bootstrap`` gives the 5-95% range of both over the systems resampled.
"""

import json
import math
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from agents._controller import PolicyController
from envs._parameters import default_values, parameter_of
from envs.three_body import ThreeBodyEnv, random_system
from stepsize.nbody import integrate
from stepsize.parallel import run

EVAL_SEED = 1_000_000
BEAT_DECADES, BEAT_STEPS_RATIO = 0.5, 0.7  # issue 16: what "strictly beats the front" means
BOOTSTRAP_RESAMPLES = 2000
FIELDS = (
    "energy_error",
    "steps",
    "force_evaluations",
    "wall_s",
    "inference_s",
    "steps_per_s",
    "terminated",
    "return",
)


def _env_episode(env_kwargs, seed, action=None, model=None, deterministic=True):
    """One ThreeBody-v0 episode with a fixed ``action`` or the ``model``'s actions."""
    env = ThreeBodyEnv(**env_kwargs)
    obs, info = env.reset(seed=seed)
    total, infer, step_s, n, actions = 0.0, 0.0, 0.0, 0, []
    done = terminated = False
    while not done:
        if model is not None:
            start = time.perf_counter()
            action = model.predict(obs, deterministic=deterministic)[0]
            infer += time.perf_counter() - start
            actions.append(np.asarray(action).reshape(-1)[0].item())
        start = time.perf_counter()
        obs, reward, terminated, truncated, info = env.step(action)
        step_s += time.perf_counter() - start
        total, n, done = total + reward, n + 1, terminated or truncated
    row = dict(
        energy_error=info["energy_error"],
        steps=info["steps"],
        force_evaluations=info["force_evaluations"],
        wall_s=step_s + infer,
        inference_s=infer,
        steps_per_s=n / step_s,
        terminated=terminated,
        **{"return": total},
    )
    return row, actions


def _integrate_episode(method, n_bodies, t_end, seed, value=None, controller=None):
    """One ``integrate`` run of the held-out system ``seed``: fixed ``value`` or ``controller``."""
    system = random_system(np.random.default_rng(seed), n_bodies)
    start = time.perf_counter()
    if controller is None:  # the same interval loop as the policy's, the value kept
        r = integrate(
            system,
            t_end,
            method,
            save_every=0.1,
            controller=_keep,
            max_energy_error=0.1,
            **{parameter_of(method): value},
        )
    else:
        r = controller.run(system, t_end, max_energy_error=0.1)
    wall = time.perf_counter() - start
    row = dict(
        energy_error=r.energy_error,
        steps=r.steps,
        force_evaluations=r.force_evaluations,
        wall_s=wall,
        inference_s=math.nan,
        steps_per_s=round(r.t / 0.1) / wall,
        terminated=r.status == "energy",
        **{"return": math.nan},
    )
    return row, list(controller.actions) if controller is not None else []


def _keep(info):
    """A controller that keeps the value (the fixed runs of a transfer)."""
    return None


def _columns(rows):
    return {k: np.array([row[k] for row in rows]) for k in FIELDS}


@dataclass
class Evaluation:
    """Per-episode results of the policy (``policy``) and of each fixed value (``fixed``, in the
    order of ``values``): dicts of arrays over ``seeds`` with keys ``FIELDS``."""

    label: str
    parameter: str
    values: np.ndarray
    seeds: np.ndarray
    policy: dict
    fixed: list
    action_counts: list = field(default_factory=list)

    @staticmethod
    def _medians(runs):
        return {
            "median_energy_error": float(np.median(runs["energy_error"])),
            "median_steps": float(np.median(runs["steps"])),
            "median_wall_s": float(np.median(runs["wall_s"])),
            "median_inference_s": float(np.median(runs["inference_s"])),
            "env_steps_per_s": float(np.median(runs["steps_per_s"])),
            "terminated": int(np.sum(runs["terminated"])),
            "mean_return": float(np.mean(runs["return"])),
        }

    def pareto(self):
        """The verdict on the medians (see the module docstring)."""
        return _verdict(self._points(np.arange(self.seeds.size)), self.values)

    def _points(self, rows):
        """(median steps, median error) of the policy and of each fixed value over ``rows``."""

        def point(runs):
            return float(np.median(runs["steps"][rows])), float(
                np.median(runs["energy_error"][rows])
            )

        return point(self.policy), [point(f) for f in self.fixed]

    def bootstrap(self, resamples=BOOTSTRAP_RESAMPLES, quantiles=(0.05, 0.95), seed=0):
        """How far the verdict moves with the systems drawn: the seeds resampled with
        replacement (the same draw for the policy and every fixed value), ``margin_decades`` and
        ``steps_ratio`` recomputed on each draw's medians; their ``quantiles`` (Efron's
        percentile interval)."""
        rng = np.random.default_rng(seed)
        n = self.seeds.size
        draws = [
            _verdict(self._points(rng.integers(0, n, n)), self.values) for _ in range(resamples)
        ]
        return {
            "resamples": int(resamples),
            "quantiles": [float(q) for q in quantiles],
            **{
                key: [float(v) for v in np.quantile([d[key] for d in draws], quantiles)]
                for key in ("margin_decades", "steps_ratio")
            },
        }

    def summary(self):
        return {
            "label": self.label,
            "parameter": self.parameter,
            "episodes": int(self.seeds.size),
            "seeds": [int(self.seeds[0]), int(self.seeds[-1])],
            "policy": {**self._medians(self.policy), "action_counts": self.action_counts},
            "fixed": [
                {"value": float(v), **self._medians(f)} for v, f in zip(self.values, self.fixed)
            ],
            "pareto": self.pareto(),
        }

    def to_dict(self):
        """The summary, the bootstrap range of the verdict and every episode's numbers."""
        listed = {k: v.tolist() for k, v in self.policy.items()}
        return {
            **self.summary(),
            "bootstrap": self.bootstrap(),
            "per_episode": {
                "policy": listed,
                "fixed": [{k: v.tolist() for k, v in f.items()} for f in self.fixed],
            },
        }

    def table(self):
        s = self.summary()
        lines = [
            f"{self.label}: {s['episodes']} held-out episodes (seeds {s['seeds'][0]}.."
            f"{s['seeds'][1]})",
            f"{'':>12} {'median |dE/E0|':>15} {'median steps':>13} {'wall s':>9} "
            f"{'env st/s':>9} {'ended':>6} {'return':>10}",
        ]
        rows = [(f"{self.parameter}={f['value']:.2e}", f) for f in s["fixed"]]
        for name, m in [*rows, ("policy", s["policy"])]:
            lines.append(
                f"{name:>12} {m['median_energy_error']:15.3e} {m['median_steps']:13.0f} "
                f"{m['median_wall_s']:9.3f} {m['env_steps_per_s']:9.0f} "
                f"{m['terminated']:6d} {m['mean_return']:10.1f}"
            )
        p = s["pareto"]
        verdict = (
            "dominated by " + ", ".join(f"{v:.2e}" for v in p["dominated_by"])
            if p["dominated"]
            else "not dominated"
        )
        side = "below" if p["below_front"] else "not below"
        lines.append(
            f"policy: {verdict}; {side} the fixed-{self.parameter} front by "
            f"{p['margin_decades']:+.2f} decades, {p['steps_ratio']:.2f}x its steps at equal "
            f"error; beats it (>= 0.5 decades or <= 0.7x): {'yes' if p['beats_front'] else 'no'}"
        )
        return "\n".join(lines)

    def plot(self, path):
        """Pareto plot (median steps vs median error, quartile bars) and the policy's actions."""
        from agents._plot import pareto_plot

        pareto_plot(self, path)

    def save(self, out, name="rl_evaluation"):
        """Write ``out/<name>.json`` and ``out/<name>.png``; returns the two paths."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        js, png = out / f"{name}.json", out / f"{name}.png"
        js.write_text(json.dumps(self.to_dict(), indent=1))
        self.plot(png)
        return js, png


def _verdict(points, values):
    """The verdict of the module docstring from ``points`` = (policy (steps, error), [(steps,
    error) of each fixed value in the order of ``values``])."""
    (ps, pe), fixed = points
    pts = [(s, e, v) for (s, e), v in zip(fixed, values)]
    dominated_by = [float(v) for s, e, v in pts if s <= ps and e <= pe and (s < ps or e < pe)]
    front = sorted(
        (s, e)
        for s, e, _ in pts
        if not any(s2 <= s and e2 <= e and (s2 < s or e2 < e) for s2, e2, _ in pts)
    )
    xs = np.log10([s for s, _ in front])
    ys = np.log10([max(e, 1e-300) for _, e in front])
    x = math.log10(max(ps, 1.0))
    front_at = float(np.interp(x, xs, ys))  # flat beyond the ends: the cheapest/best error
    margin = front_at - math.log10(max(pe, 1e-300))
    # along the front the error falls as the steps grow: interpolate steps at an error
    steps_at = float(np.interp(math.log10(max(pe, 1e-300)), ys[::-1], xs[::-1]))
    ratio = 10.0 ** (x - steps_at)
    return {
        "dominated": bool(dominated_by),
        "dominated_by": dominated_by,
        "below_front": margin > 0,
        "margin_decades": margin,
        "steps_ratio": ratio,
        "beats_front": bool(margin >= BEAT_DECADES or ratio <= BEAT_STEPS_RATIO),
        "front": [[s, e] for s, e in front],
    }


def _check_episodes(episodes, seed):
    if int(episodes) != episodes or episodes < 1:
        raise ValueError(f"episodes must be a positive integer, got {episodes!r}")
    if int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return np.arange(int(seed), int(seed) + int(episodes))


def training_seeds(config):
    """The environment seeds a training run used, from its ``config``: the inclusive range
    ``config["training_seeds"]`` when the run records one (a search over its own seed set, as
    ``threebody_linear``), else ``seed .. seed + n_envs - 1`` (``agents.train``'s copies)."""
    seed0 = int(config.get("seed", 0))
    first, last = config.get("training_seeds", (seed0, seed0 + int(config.get("n_envs", 1)) - 1))
    return range(int(first), int(last) + 1)


def check_seeds(episodes, seed, training_seeds=()):
    """The seeds ``seed, ..., seed + episodes - 1`` of an evaluation; ValueError naming
    ``episodes`` or ``seed`` when they are not valid or overlap ``training_seeds``."""
    seeds = _check_episodes(episodes, seed)
    overlap = set(int(s) for s in training_seeds) & set(seeds.tolist())
    if overlap:
        raise ValueError(f"seed: evaluation seeds overlap the training seeds {sorted(overlap)}")
    return seeds


def _counts(actions, n, continuous=False):
    """Decisions per action index; a continuous action a in [-1, 1] counts for the grid value
    nearest to the one it sets (index round((a + 1) (n - 1) / 2): the grid is uniform in log10
    between the two ends the action maps onto)."""
    flat = np.asarray([a for run in actions for a in run], dtype=float)
    if continuous:
        flat = np.rint((np.clip(flat, -1.0, 1.0) + 1.0) * (n - 1) / 2.0)
    elif flat.size and not np.all(flat == np.rint(flat)):
        return []
    return np.bincount(flat.astype(int), minlength=n).tolist() if flat.size else []


def evaluate(
    model,
    episodes=100,
    *,
    env_kwargs=None,
    max_steps=300,
    seed=EVAL_SEED,
    training_seeds=(),
    workers=1,
    deterministic=True,
    fixed=None,
):
    """The policy ``model`` and each fixed action on ``episodes`` held-out seeds.

    ``env_kwargs`` are the training environment's (``config["env_kwargs"]``); ``max_steps``
    replaces its episode length.  ``training_seeds`` (the seeds the training run used) must not
    overlap the evaluation seeds.  ``fixed``: the indices of the actions run fixed (default all;
    e.g. ``range(3, 10)`` leaves out the three costliest eta when only the front near the
    policy matters).  Fixed-action episodes run on ``workers`` processes.
    """
    seeds = check_seeds(episodes, seed, training_seeds)
    kwargs = {**(env_kwargs or {}), "max_steps": max_steps}
    env = ThreeBodyEnv(**kwargs)
    fixed_kwargs = {**kwargs, "continuous": False}
    n = env.values.size
    indices = list(range(n)) if fixed is None else [int(a) for a in fixed]
    if not indices or any(not 0 <= a < n for a in indices):
        raise ValueError(f"fixed must be action indices in [0, {n - 1}], got {fixed!r}")
    jobs = [(a, int(s)) for a in indices for s in seeds]
    rows = run(partial(_fixed_item, fixed_kwargs), jobs, workers=workers)
    fixed = [_columns([r for (a, _), (r, _) in zip(jobs, rows) if a == k]) for k in indices]
    policy_rows = [
        _env_episode(kwargs, int(s), model=model, deterministic=deterministic) for s in seeds
    ]
    return Evaluation(
        label=f"ThreeBody-v0 ({env.integrator}, {env.n_bodies} bodies, {max_steps} steps)",
        parameter=env.parameter,
        values=env.values[indices],
        seeds=seeds,
        policy=_columns([r for r, _ in policy_rows]),
        fixed=fixed,
        action_counts=_counts([a for _, a in policy_rows], n, env.continuous),
    )


def evaluate_transfer(
    model,
    *,
    method="hermite4",
    n_bodies=3,
    episodes=20,
    t_end=10.0,
    seed=EVAL_SEED,
    observation="paper",
    workers=1,
):
    """The policy steering ``method`` on ``n_bodies`` held-out systems through
    :class:`PolicyController` (actions by index onto ``default_values(method)``), against each
    of those values fixed; runs of ``t_end`` yr."""
    seeds = _check_episodes(episodes, seed)
    values = default_values(method)
    job = partial(_integrate_episode, method, n_bodies, float(t_end))
    rows = run(
        partial(_value_item, job),
        [(float(v), int(s)) for v in values for s in seeds],
        workers=workers,
    )
    k = seeds.size
    fixed = [_columns([r for r, _ in rows[i * k : (i + 1) * k]]) for i in range(values.size)]
    controller = PolicyController(model, method=method, observation=observation)
    policy_rows = [job(int(s), controller=controller) for s in seeds]
    return Evaluation(
        label=f"transfer: {method}, {n_bodies} bodies, {t_end:g} yr",
        parameter=controller.parameter,
        values=values,
        seeds=seeds,
        policy=_columns([r for r, _ in policy_rows]),
        fixed=fixed,
        action_counts=_counts([a for _, a in policy_rows], values.size, controller.continuous),
    )


def _fixed_item(kwargs, item):
    """``(action, seed)`` -> :func:`_env_episode` (module level: picklable for the workers)."""
    action, seed = item
    return _env_episode(kwargs, seed, action=action)


def _value_item(job, item):
    """``(value, seed)`` -> ``job(seed, value=value)``."""
    value, seed = item
    return job(seed, value=value)
