"""The tutorials in notebooks/ run end to end (they are stored without outputs), and one number
each prints is what it should be."""

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))
NUMBER = r"([-+0-9.e]+)"


def _vdp_error(text):
    """VDPOL (mu = 1e3) against the Bari Test Set reference: well inside the tolerance's reach."""
    return float(re.search(r"error vs the Test Set reference: " + NUMBER, text)[1]) < 1e-4


def _dop853_energy(text):
    """The Pythagorean problem with dop853 at tight rtol keeps |dE/E| far below Hermite's."""
    return float(re.search(r"dop853 +\|dE/E\| = " + NUMBER, text)[1]) < 1e-8


def _bellman_beats_uniform(text):
    bellman = float(re.search(r"'bellman': " + NUMBER, text)[1])
    return bellman < float(re.search(r"'uniform': " + NUMBER, text)[1])


def _large_gamma_is_the_perceptron(text):
    """Tyurin (2024): theta_t / gamma of LR+GD tends to the batch perceptron as gamma grows."""
    return float(re.search(r"1e\+06: max \|θ_t/γ - perceptron_t\| = " + NUMBER, text)[1]) < 1e-10


CHECKS = {
    "01_stiffness_and_controllers": _vdp_error,
    "02_three_body_and_rl": _dop853_energy,
    "03_sampler_schedules": _bellman_beats_uniform,
    "04_gradient_descent_large_steps": _large_gamma_is_the_perceptron,
}


def _printed(nb):
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", "") or out.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path):
    nb = nbformat.read(path, as_version=4)
    assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code"), (
        "store notebooks without outputs"
    )
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    check = CHECKS.get(path.stem)
    assert check is not None, f"{path.name}: add the number it checks to CHECKS"
    assert check(_printed(nb)), f"{path.name}: {check.__name__} fails on what it printed"
