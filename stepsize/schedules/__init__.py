"""Offline schedules: the whole step sequence chosen in advance.

Formulas (uniform, EDM/Karras, logSNR-uniform, time-quadratic, Align Your Steps), the Bellman
planner over a fine reference trajectory (BOSS/GITS cost matrices, an OSS-style state-carrying
variant), evolutionary search (AutoDiffusion), noise processes (flow, VP, VE: how a flow time maps
onto a model's noise level) and export to diffusers, k-diffusion and JSON.
Schedules for flow samplers are increasing times from 0 (noise) to 1 (data); the planners work on
any grid, e.g. the time grid of an ODE problem. Only numpy and numba are needed here.
"""

from stepsize.schedules._bellman import bellman, bellman_multistep, multistep_path_cost, path_cost
from stepsize.schedules._check import check_schedule
from stepsize.schedules._cost import cost_matrix, step_cost_matrix
from stepsize.schedules._evolve import EvolveResult, evolve
from stepsize.schedules._export import (
    check_scheduler_sigmas,
    from_diffusers,
    from_kdiffusion,
    from_scheduler,
    load_schedule,
    save_schedule,
    sigma_to_t,
    t_to_sigma,
    t_to_timesteps,
    timesteps_to_t,
    to_diffusers,
    to_kdiffusion,
)
from stepsize.schedules._formulas import (
    AYS_SIGMAS,
    AYS_TIMESTEPS,
    SCHEDULES,
    ays,
    get,
    karras,
    loglinear_interp,
    logsnr_uniform,
    quadratic,
    uniform,
)
from stepsize.schedules._oss import oss_path
from stepsize.schedules._process import (
    SPACINGS,
    Process,
    flow_process,
    model_grid,
    process_from_config,
    shift_sigmas,
    unshift_sigmas,
    ve_process,
    vp_process,
)

__all__ = [
    "AYS_SIGMAS",
    "AYS_TIMESTEPS",
    "SCHEDULES",
    "EvolveResult",
    "SPACINGS",
    "Process",
    "ays",
    "bellman",
    "bellman_multistep",
    "check_schedule",
    "check_scheduler_sigmas",
    "cost_matrix",
    "evolve",
    "from_diffusers",
    "from_kdiffusion",
    "from_scheduler",
    "flow_process",
    "get",
    "karras",
    "load_schedule",
    "loglinear_interp",
    "model_grid",
    "multistep_path_cost",
    "logsnr_uniform",
    "oss_path",
    "path_cost",
    "process_from_config",
    "quadratic",
    "save_schedule",
    "shift_sigmas",
    "sigma_to_t",
    "step_cost_matrix",
    "t_to_sigma",
    "t_to_timesteps",
    "timesteps_to_t",
    "to_diffusers",
    "to_kdiffusion",
    "uniform",
    "unshift_sigmas",
    "ve_process",
    "vp_process",
]
