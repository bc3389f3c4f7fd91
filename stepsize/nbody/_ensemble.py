"""``integrate_ensemble``: many independent systems, each with its own adaptive steps.

Three back ends give the results of looping :func:`integrate` over the systems:
  * "numba" (default): the compiled per-system loops of hermite4 / leapfrog, chunks of systems
    on ``numba.get_num_threads()`` threads (the loops release the GIL; results bit-for-bit those
    of ``integrate``).  Threads rather than a ``numba.prange`` kernel: the same parallelism
    without the parallel compilation of the whole loop (15-40 s on first use).  Runge-Kutta
    methods go through ``stepsize.ode.solve_ensemble`` (a ``prange`` over members);
  * "numpy" / "cupy": hermite4 / leapfrog written once against an array namespace, all systems
    advanced together, each with its own step (``_batched``), on the CPU or a GPU.
"""

import numbers
import time
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from stepsize.backend import get_xp, to_numpy
from stepsize.nbody import _checkpoint as ckpt
from stepsize.nbody import _kernels as K
from stepsize.nbody._batched import Batch
from stepsize.nbody._gbs import gbs_advance, gbs_start
from stepsize.nbody._hermite import hermite_advance, hermite_start
from stepsize.nbody._integrate import integrate, output_times
from stepsize.nbody._leapfrog import leapfrog_advance, leapfrog_start
from stepsize.nbody._ode import Coordinates
from stepsize.nbody._options import KERNEL_METHODS, kernel_params, parse
from stepsize.nbody._result import EnsembleResult, Event, History
from stepsize.nbody._simulation import STATUS, relative_error
from stepsize.nbody._system import System
from stepsize.ode import solve_ensemble

BACKENDS = ("numba", "numpy", "cupy")


def integrate_ensemble(
    systems,
    t_end,
    method="hermite4",
    *,
    backend="numba",
    save_every=None,
    checkpoint=None,
    chunk_size=1000,
    **options,
):
    """Integrate every system of ``systems`` from 0 to ``t_end``; returns an
    :class:`EnsembleResult` equal to looping :func:`integrate` with the same options.

    ``systems``: a sequence of :class:`System` with the same number of bodies and dimension (G
    and masses may differ).  ``method`` and ``options`` as :func:`integrate`, except that
    events always stop a system (``on_event="stop"``), there is no online ``controller``, and
    the Runge-Kutta methods take no encounter or escape detection (they go through
    ``stepsize.ode.solve_ensemble``, grouped by masses and G, and with ``save_every`` they
    report fewer force evaluations than ``integrate``, which pays for a dense output).
    ``backend``: "numba" (default, compiled loops on all cores), "numpy" or "cupy" (the
    array-namespace path; hermite4 and leapfrog only).  ``checkpoint``: a path; the systems are
    run ``chunk_size`` at a time and the finished ones saved there after every chunk, so that a
    rerun with the same arguments resumes where an interrupted one stopped.
    """
    systems = _check_systems(systems)
    opts = parse(method, options)
    if opts.on_event != "stop":
        raise ValueError("on_event must be 'stop' in integrate_ensemble ('record' needs integrate)")
    if backend not in BACKENDS:
        raise ValueError(f"backend: unknown {backend!r}; known: {', '.join(BACKENDS)}")
    if backend != "numba" and method not in ("hermite4", "leapfrog"):
        raise ValueError(f"backend {backend!r} runs hermite4 and leapfrog only, not {method!r}")
    if opts.is_ode and (opts.encounter_distance or opts.escape_radius):
        raise ValueError(
            "encounter_distance and escape_radius need hermite4, leapfrog or gbs in "
            "integrate_ensemble"
        )
    integer = isinstance(chunk_size, numbers.Integral) and not isinstance(chunk_size, bool)
    if not integer or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    times = output_times(t_end, save_every)
    start = time.perf_counter()

    def run(part):
        if opts.is_ode:
            return _run_ode(part, times, opts, save_every, {"method": method, **options})
        if backend == "numba":
            return _run_threads(part, times, opts, save_every is not None)
        return _run_batched(get_xp(backend), part, times, opts, save_every is not None)

    resumed = 0
    if checkpoint is None:
        out = run(systems)
    else:
        key = ckpt.fingerprint(
            *_stack(systems),
            {"method": method, "options": opts.as_dict(), "output times": times.tolist()},
        )
        parts = [done] if (done := ckpt.load(checkpoint, key)) is not None else []
        resumed = len(parts[0]) if parts else 0
        for lo in range(resumed, len(systems), int(chunk_size)):
            parts.append(run(systems[lo : lo + int(chunk_size)]))
            ckpt.save(checkpoint, key, ckpt.concat(parts))
        out = ckpt.concat(parts)
    out.stats = {
        "method": method,
        "options": opts.as_dict(),
        "backend": backend,
        "wall_s": time.perf_counter() - start,
        "resumed": resumed,
    }
    return out


def _check_systems(systems):
    systems = list(systems) if not isinstance(systems, System) else None
    if not systems:
        raise ValueError("systems must be a non-empty sequence of System")
    for k, s in enumerate(systems):
        if not isinstance(s, System):
            raise TypeError(f"systems[{k}] must be a System, got {type(s).__name__}")
        if s.positions.shape != systems[0].positions.shape:
            raise ValueError(
                f"systems[{k}] has positions of shape {s.positions.shape}, systems[0] "
                f"{systems[0].positions.shape}: all need the same number of bodies and dimension"
            )
    return systems


def _stack(systems):
    pos = np.ascontiguousarray(np.stack([s.positions for s in systems]))
    vel = np.ascontiguousarray(np.stack([s.velocities for s in systems]))
    masses = np.ascontiguousarray(np.stack([s.masses for s in systems]))
    G = np.array([s.G for s in systems])
    return pos, vel, masses, G


@numba.njit(**K.NJIT)
def _invariants(pos, vel, masses, G, eps2):
    """Energies (M,), angular momenta (M, 3) and centre-of-mass positions and velocities
    (M, D) of M systems."""
    m = pos.shape[0]
    e = np.empty(m)
    ang = np.empty((m, 3))
    xc = np.empty((m, pos.shape[2]))
    vc = np.empty((m, pos.shape[2]))
    for s in range(m):
        e[s] = K.total_energy(pos[s], vel[s], masses[s], G[s], eps2)
        ang[s] = K.angular_momentum(pos[s], vel[s], masses[s])
        xc[s] = K.center_of_mass(pos[s], masses[s])
        vc[s] = K.center_of_mass(vel[s], masses[s])
    return e, ang, xc, vc


@numba.njit(**K.NJIT)
def _drifts(pos, masses, x0, v0, t):
    out = np.empty(pos.shape[0])
    for s in range(pos.shape[0]):
        out[s] = K.com_drift(pos[s], masses[s], x0[s], v0[s], t[s])
    return out


def _relative(now, ref):
    """``relative_error`` elementwise over systems (the same floating-point operations)."""
    if now.ndim == 1:
        diff, scale = np.abs(now - ref), np.abs(ref)
    else:
        d = now - ref
        diff = np.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1] + d[:, 2] * d[:, 2])
        scale = np.sqrt(ref[:, 0] * ref[:, 0] + ref[:, 1] * ref[:, 1] + ref[:, 2] * ref[:, 2])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(scale > 0, diff / scale, diff)


def _events(status, t, pos, masses, ev_i, ev_j):
    """One-element event lists for systems stopped at an event (the ``Simulation`` record)."""
    out = []
    for k, s in enumerate(status):
        if s == "encounter":
            i, j = int(ev_i[k]), int(ev_j[k])
            out.append(
                [Event(s, float(t[k]), (i, j), float(np.linalg.norm(pos[k, i] - pos[k, j])))]
            )
        elif s == "escape":
            i = int(ev_i[k])
            rest = np.arange(masses.shape[1]) != i
            xr = K.center_of_mass(np.ascontiguousarray(pos[k][rest]), masses[k][rest])
            out.append([Event(s, float(t[k]), (i,), float(np.linalg.norm(pos[k, i] - xr)))])
        else:
            out.append([])
    return out


@numba.njit(**K.NJIT)
def _run_one(method, p, v, masses, par, times, limit, e0, save, ht, hpos, hvel, herr, scal, cnt):
    """One system through every output interval, as ``integrate`` runs it (method 0 hermite4,
    1 leapfrog, 2 gbs)."""
    acc = np.zeros_like(p)
    jerk = np.zeros_like(p)
    escaped = np.zeros(p.shape[0], dtype=np.int8)
    scal[K.S_RMIN2] = np.inf
    cnt[K.C_ARMED] = 1
    if method == 0:
        hermite_start(p, v, acc, jerk, masses, par, scal, cnt)
    elif method == 1:
        leapfrog_start(p, v, acc, jerk, masses, par, scal, cnt)
    else:
        gbs_start(p, v, acc, jerk, masses, par, scal, cnt)
    if save:
        ht[0] = 0.0
        hpos[0] = p
        hvel[0] = v
        herr[0] = 0.0
    for k in range(times.size):
        par[K.P_TEND] = times[k]
        if method == 0:
            code = hermite_advance(p, v, acc, jerk, masses, par, scal, cnt, escaped)
        elif method == 1:
            code = leapfrog_advance(p, v, acc, jerk, masses, par, scal, cnt, escaped)
        else:
            code = gbs_advance(p, v, acc, jerk, masses, par, scal, cnt, escaped)
        e = K.total_energy(p, v, masses, par[K.P_G], par[K.P_EPS2])
        err = abs(e - e0) / abs(e0) if e0 != 0.0 else abs(e - e0)
        if save:
            ht[k + 1] = scal[K.S_T]
            hpos[k + 1] = p
            hvel[k + 1] = v
            herr[k + 1] = err
        if code != K.DONE:
            return
        if err > limit:
            cnt[K.C_STATUS] = K.ENERGY
            return


@numba.njit(**K.NJIT)
def _run_chunk(
    lo, hi, method, pos, vel, masses, par, times, limit, e0, save, ht, hpos, hvel, herr, scal, cnt
):
    for s in range(lo, hi):
        _run_one(
            method,
            pos[s],
            vel[s],
            masses[s],
            par[s],
            times,
            limit,
            e0[s],
            save,
            ht[s],
            hpos[s],
            hvel[s],
            herr[s],
            scal[s],
            cnt[s],
        )


def _parallel_chunks(m, fn):
    """Run ``fn(lo, hi)`` over [0, m) in chunks on ``numba.get_num_threads()`` threads (the
    compiled loops release the GIL); several chunks per thread balance chaotic run times."""
    threads = max(1, min(numba.get_num_threads(), m))
    bounds = np.linspace(0, m, min(m, 8 * threads) + 1).astype(int)
    if threads == 1:
        fn(0, m)
        return
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(fn, bounds[:-1], bounds[1:]))


def _run_threads(systems, times, opts, save):
    pos, vel, masses, G = _stack(systems)
    m, n, d = pos.shape
    eps2 = opts.softening**2
    e0, l0, x0, v0 = _invariants(pos, vel, masses, G, eps2)
    par = np.stack([kernel_params(opts, g) for g in G])
    hist = _buffers(m, n, d, times, save)
    scal = np.zeros((m, K.N_SCAL))
    cnt = np.zeros((m, K.N_CNT), dtype=np.int64)
    _parallel_chunks(
        m,
        lambda lo, hi: _run_chunk(
            lo,
            hi,
            KERNEL_METHODS.index(opts.method),
            pos,
            vel,
            masses,
            par,
            times,
            opts.max_energy_error,
            e0,
            save,
            *hist,
            scal,
            cnt,
        ),
    )
    status = np.array([STATUS.get(int(c), "energy") for c in cnt[:, K.C_STATUS]])
    return _assemble(
        pos,
        vel,
        masses,
        G,
        eps2,
        e0,
        l0,
        (x0, v0),
        scal[:, K.S_T],
        status,
        cnt[:, K.C_STEPS],
        cnt[:, K.C_NFORCE],
        np.sqrt(scal[:, K.S_RMIN2]),
        cnt[:, [K.C_RMINI, K.C_RMINJ]],
        cnt[:, K.C_EVI],
        cnt[:, K.C_EVJ],
        opts,
        hist if save else None,
    )


def _buffers(m, n, d, times, save):
    """History arrays (t, positions, velocities, energy error), NaN where nothing is saved."""
    rows = times.size + 1 if save else 0
    return (
        np.full((m, rows), np.nan),
        np.full((m, rows, n, d), np.nan),
        np.full((m, rows, n, d), np.nan),
        np.full((m, rows), np.nan),
    )


def _assemble(
    pos,
    vel,
    masses,
    G,
    eps2,
    e0,
    l0,
    com0,
    t,
    status,
    steps,
    nforce,
    rmin,
    rpair,
    ev_i,
    ev_j,
    opts,
    hist,
):
    e, ang, _, _ = _invariants(pos, vel, masses, G, eps2)
    de, dl = _relative(e, e0), _relative(ang, l0)
    t = np.asarray(t, dtype=float).copy()
    history = None
    if hist is not None:
        history = History(*hist, np.full(hist[0].shape, opts.value))
    return EnsembleResult(
        t=t,
        positions=pos,
        velocities=vel,
        masses=masses,
        G=G,
        status=status,
        steps=np.asarray(steps).copy(),
        force_evaluations=np.asarray(nforce).copy(),
        energy_error=de,
        angular_momentum_error=dl,
        com_drift=_drifts(pos, masses, com0[0], com0[1], t),
        min_distance=np.asarray(rmin, dtype=float),
        min_distance_pair=np.asarray(rpair).copy(),
        events=_events(status, t, pos, masses, ev_i, ev_j),
        history=history,
    )


def _run_batched(xp, systems, times, opts, save):
    pos, vel, masses, G = _stack(systems)
    m, n, d = pos.shape
    eps2 = opts.softening**2
    e0, l0, x0, v0 = _invariants(pos, vel, masses, G, eps2)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        b = Batch(xp, opts.method, pos, vel, masses, G, opts)
        ht, hpos, hvel, herr = hist = _buffers(m, n, d, times, save)
        if save:
            ht[:, 0], hpos[:, 0], hvel[:, 0], herr[:, 0] = 0.0, pos, vel, 0.0
        e0_dev = xp.asarray(e0)
        for k, tk in enumerate(times):
            live = b.alive.copy()
            b.advance(float(tk))
            e = b.energy()
            err = xp.where(e0_dev != 0.0, xp.abs(e - e0_dev) / xp.abs(e0_dev), xp.abs(e - e0_dev))
            over = b.alive & (err > opts.max_energy_error)
            b._stop(over, K.ENERGY)
            if save:
                rec = to_numpy(live)
                ht[rec, k + 1] = to_numpy(b.t)[rec]
                hpos[rec, k + 1] = to_numpy(b.pos)[rec]
                hvel[rec, k + 1] = to_numpy(b.vel)[rec]
                herr[rec, k + 1] = to_numpy(err)[rec]
            if not bool(b.alive.any()):
                break
    status = np.array([STATUS.get(int(c), "energy") for c in to_numpy(b.status)])
    pos, vel = np.ascontiguousarray(to_numpy(b.pos)), np.ascontiguousarray(to_numpy(b.vel))
    rpair = np.stack([to_numpy(b.rmin_i), to_numpy(b.rmin_j)], axis=1)
    return _assemble(
        pos,
        vel,
        masses,
        G,
        eps2,
        e0,
        l0,
        (x0, v0),
        to_numpy(b.t),
        status,
        to_numpy(b.steps),
        to_numpy(b.nforce),
        np.sqrt(to_numpy(b.rmin2)),
        rpair,
        to_numpy(b.ev_i),
        to_numpy(b.ev_j),
        opts,
        hist if save else None,
    )


def _run_ode(systems, times, opts, save_every, options):
    """Runge-Kutta ensembles: ``solve_ensemble`` per group of equal masses and G; a member
    whose solve fails is rerun through ``integrate`` for its state up to the failure."""
    pos, vel, masses, G = _stack(systems)
    m, n, d = pos.shape
    eps2 = opts.softening**2
    e0, l0, x0, v0 = _invariants(pos, vel, masses, G, eps2)
    save = save_every is not None
    t = np.zeros(m)
    steps = np.zeros(m, dtype=np.int64)
    nforce = np.zeros(m, dtype=np.int64)
    status = np.array(["done"] * m, dtype=object)
    hist = _buffers(m, n, d, times, save)
    coords = [Coordinates(opts.coordinates, masses[k], pos[k], vel[k]) for k in range(m)]
    groups = {}
    for k in range(m):
        groups.setdefault((tuple(masses[k].tolist()), G[k]), []).append(k)
    for (mass_tuple, g), idx in groups.items():
        r = solve_ensemble(
            coords[idx[0]].rhs,
            (0.0, float(times[-1])),
            np.stack([coords[k].state(pos[k], vel[k]) for k in idx]),
            method=opts.method,
            t_eval=times if save else None,
            rtol=opts.value,
            atol=opts.atol,
            controller=opts.step_controller,
            max_steps=opts.max_steps,
            args=(mass_tuple, float(g), opts.softening),
        )
        for row, k in enumerate(idx):
            if r.status[row] != 0:
                run = integrate(systems[k], float(times[-1]), save_every=save_every, **options)
                _fill(k, run, pos, vel, t, steps, nforce, status, hist)
                continue
            steps[k], nforce[k] = r.naccept[row], r.nfev[row]
            if save:
                hist[0][k, 0], hist[1][k, 0], hist[2][k, 0], hist[3][k, 0] = 0, pos[k], vel[k], 0
            out_t = times if save else times[-1:]
            for j, tj in enumerate(out_t):
                p, v = (a[0] for a in coords[k].absolute(r.y[row][:, j], tj))
                err = relative_error(K.total_energy(p, v, masses[k], G[k], eps2), e0[k])
                pos[k], vel[k], t[k] = p, v, tj
                if save:
                    hist[0][k, j + 1], hist[1][k, j + 1], hist[2][k, j + 1] = tj, p, v
                    hist[3][k, j + 1] = err
                if err > opts.max_energy_error:
                    status[k] = "energy"
                    break
    none = np.full(m, -1)
    return _assemble(
        pos,
        vel,
        masses,
        G,
        eps2,
        e0,
        l0,
        (x0, v0),
        t,
        status.astype(str),
        steps,
        nforce,
        np.full(m, np.nan),
        np.stack([none, none], 1),
        none,
        none,
        opts,
        hist if save else None,
    )


def _fill(k, run, pos, vel, t, steps, nforce, status, hist):
    """Copy an ``integrate`` result into row k of the ensemble arrays."""
    pos[k], vel[k], t[k] = run.system.positions, run.system.velocities, run.t
    steps[k], nforce[k], status[k] = run.steps, run.force_evaluations, run.status
    if run.history is not None:
        h, rows = run.history, run.history.t.size
        for buf, values in zip(hist, (h.t, h.positions, h.velocities, h.energy_error)):
            buf[k, :rows] = values
