"""Every registered environment as Gymnasium and stable-baselines3 users meet it: the checkers
with the registered defaults, ``gym.make`` after ``import stepsize`` only (or with the module
prefix and no import at all), the shipped policy
on the environment that comes with it, and the README's DummyVecEnv / SubprocVecEnv training."""

import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import agents
import envs

ROOT = Path(__file__).resolve().parents[1]
IDS = ("stepsize/LearningRate-v0", "stepsize/ODEStep-v0", "stepsize/ThreeBody-v0")


def test_the_registry_holds_every_environment():
    gym.register_envs(envs)
    assert sorted(k for k in gym.registry if k.startswith("stepsize/")) == list(IDS)


@pytest.mark.parametrize("env_id", IDS)
def test_checkers_pass_with_the_registered_defaults(env_id):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a failed determinism check is an error, not a warning
        warnings.filterwarnings("ignore", message=".*(different from the unwrapped|infinity)")
        check_env(gym.make(env_id))
        sb3_check_env(gym.make(env_id).unwrapped, warn=False)


@pytest.mark.parametrize("env_id", IDS)
def test_same_seed_and_actions_give_the_same_episode_and_info(env_id):
    runs = []
    for _ in range(2):
        env = gym.make(env_id)
        env.action_space.seed(3)
        obs, info = env.reset(seed=3)
        trace = [(obs, info)]
        for _ in range(4):
            obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
            trace.append((obs, reward, info))
            if terminated or truncated:
                break
        runs.append(trace)
    assert repr(runs[0]) == repr(runs[1])


def _fresh_python(code):
    out = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],  # an override warning would fail it
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_make_with_the_module_prefix_needs_no_import():
    code = (
        "import gymnasium as gym; env = gym.make('envs:stepsize/ThreeBody-v0'); "
        "print(env.reset(seed=0)[0].shape)"
    )
    assert _fresh_python(code) == ["(13,)"]


@pytest.mark.parametrize(
    "imports",
    [
        "import stepsize, gymnasium as gym",
        "import gymnasium as gym, stepsize",
        "import stepsize, envs, gymnasium as gym",  # the hook fires inside envs' own import
    ],
    ids=["stepsize-first", "gymnasium-first", "envs-before-gymnasium"],
)
def test_import_stepsize_is_enough_for_make(imports):
    # the entry-point group stepsize.envs, called once gymnasium is loaded (stepsize._gymnasium)
    code = (
        f"{imports}; import sys; print('envs' in sys.modules); "
        "ids = sorted(k for k in gym.registry if k.startswith('stepsize/')); "
        "print(*ids); print(gym.make('stepsize/ThreeBody-v0').reset(seed=0)[0].shape); "
        "import envs"  # registers nothing twice: no override warning (-W error)
    )
    assert _fresh_python(code) == ["True", *IDS, "(13,)"]


def test_import_stepsize_does_not_import_gymnasium():
    code = "import stepsize, sys; print('gymnasium' in sys.modules, 'envs' in sys.modules)"
    assert _fresh_python(code) == ["False", "False"]


@pytest.mark.parametrize("name", ["default", "threebody_ppo", "threebody_dqn_paper"])
def test_a_shipped_policy_comes_with_its_environment(name):
    model = agents.load_default_policy() if name == "default" else agents.load_default_policy(name)
    env = agents.make_env(name)
    obs, _ = env.reset(seed=agents.EVAL_SEED)
    assert env.observation_space == model.observation_space
    action, _ = model.predict(obs, deterministic=True)
    obs, *_ = env.step(action)
    assert obs.shape == model.observation_space.shape
    assert agents.make_env(name, max_steps=300).unwrapped.max_steps == 300
    with pytest.raises(ValueError, match="neither a shipped policy"):
        agents.make_env("no/such/run")


def _readme_block(marker):
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    found = [b for b in blocks if marker in b]
    assert len(found) == 1, marker
    return found[0]


def test_readme_subprocvecenv_training_runs_as_a_script(tmp_path):
    # the README example itself, run as a script: workers re-import it (the __main__ guard)
    script = tmp_path / "train.py"
    code = _readme_block("vec_env_cls=SubprocVecEnv")
    script.write_text(code + "    print(model.num_timesteps)\n")
    out = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.split()[-1]) == 256


def test_readme_dummyvecenv_training():
    scope = {}
    exec(_readme_block("DummyVecEnv"), scope)
    model = scope["model"]
    assert model.num_timesteps == 256
    obs = scope["venv"].reset()
    assert np.asarray(model.predict(obs)[0]).shape == (2,)


def test_readme_compiled_vector_training():
    scope = {}
    exec(_readme_block("ThreeBodyVecEnv("), scope)
    assert scope["model"].num_timesteps == 1024
    assert scope["venv"].num_envs == 64
