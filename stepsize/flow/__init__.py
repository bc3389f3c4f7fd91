"""Flow-matching models (torch), samplers over any schedule, metrics, data and straightening.

Flow time ``t`` runs from 0 (noise) to 1 (data) with ``x_t = (1 - t) x_0 + t x_1``; any callable
velocity ``v(x, t)`` on torch tensors plugs in, the networks trained here are
:class:`VelocityMLP`; diffusion models (diffusers networks with their scheduler config,
k-diffusion denoisers, classifier-free guidance) plug in through adapters that map them onto
the flow time axis (:class:`DiffusersModel`, :class:`KDiffusionModel`, :class:`Guided`).
Attributes load on first use, so importing the package (e.g. for the command line) does not
import torch.
"""

import importlib

_EXPORTS = {
    "DATASETS": "_data",
    "load_data": "_data",
    "DigitsClassifier": "_model",
    "VelocityMLP": "_model",
    "TrainResult": "_train",
    "train_classifier": "_train",
    "train_flow": "_train",
    "PRETRAINED": "_pretrained",
    "load_model": "_pretrained",
    "pretrained": "_pretrained",
    "save_model": "_pretrained",
    "NFE_PER_STEP": "_sample",
    "SOLVERS": "_sample",
    "Trajectory": "_sample",
    "reference": "_sample",
    "sample": "_sample",
    "sample_euler": "_solvers",
    "sample_heun": "_solvers",
    "sample_midpoint": "_solvers",
    "sample_ipndm": "_solvers",
    "sample_dpmpp_2m": "_solvers",
    "sample_dpmpp_2m_flow": "_solvers",
    "sample_dpmpp_3m": "_solvers",
    "sample_unipc": "_solvers",
    "Model": "_adapters",
    "VelocityModel": "_adapters",
    "DiffusersModel": "_adapters",
    "KDiffusionModel": "_adapters",
    "Guided": "_adapters",
    "Decoupled": "_adapters",
    "as_model": "_adapters",
    "teacher": "_sample",
    "TeacherCache": "_cache",
    "classifier_features": "_metrics",
    "energy_distance": "_metrics",
    "frechet_distance": "_metrics",
    "mmd": "_metrics",
    "sliced_wasserstein": "_metrics",
    "teacher_error": "_metrics",
    "PLANNERS": "_plan",
    "make_noise": "_plan",
    "numpy_velocity": "_plan",
    "plan_bellman": "_plan",
    "plan_for_solver": "_plan",
    "BNSSolver": "_bns",
    "plan_bns": "_bns",
    "sample_linear": "_bns",
    "solver_coefficients": "_bns",
    "LD3Result": "_ld3",
    "plan_ld3": "_ld3",
    "METRICS": "_fitness",
    "ScheduleFitness": "_fitness",
    "straighten": "_straighten",
    "Comparison": "_compare",
    "compare_schedules": "_compare",
    "ScheduleSearch": "_search",
    "comparison_table": "_search",
    "reference_data": "_search",
    "search_schedules": "_search",
    "TRAINABLE": "_train_models",
    "TrainedModels": "_train_models",
    "train_models": "_train_models",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'stepsize.flow' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"stepsize.flow.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
