"""``integrate_ensemble``: many independent systems, each with its own adaptive steps.

Every member runs its own loop (``_member.run_member``: own step, criterion state and stop
condition), one compiled source on two back ends:
  * "numba" (default): chunks of members on ``numba.get_num_threads()`` threads, handed out
    dynamically (a member with a close encounter holds up only its chunk; the loops release the
    GIL; results bit for bit those of ``integrate``).  Threads over one compiled function rather
    than a ``prange`` kernel: the same parallelism without compiling the whole loop again in
    parallel mode;
  * "cuda": one CUDA kernel, one thread per member, running the same functions as CUDA device
    functions (``_cuda``; equal to the CPU to rounding, exactly so in Numba's simulator).
``gr15`` and ``wh`` members run their own loops (``run_gr15_member``, ``run_wh_member``) on
the same CPU threads.  Runge-Kutta methods go through ``stepsize.ode.solve_ensemble`` (a
``prange`` over members).
With ``client=`` (a ``dask.distributed.Client``) chunks of members run on a Dask cluster.
"""

import threading
import time

import numba
import numpy as np

from stepsize._chunks import Store, check_client, fingerprint, run_chunks, split
from stepsize.backend import lane_fractions
from stepsize.nbody import _checkpoint as ckpt
from stepsize.nbody import _gravity as K
from stepsize.nbody._gr15 import gr15_state
from stepsize.nbody._integrate import integrate, output_times
from stepsize.nbody._member import (
    CARRIED_METHODS,
    MEMBER_METHODS,
    member_views,
    run_gr15_member,
    run_member,
    run_wh_member,
    scratch_shape,
)
from stepsize.nbody._ode import Coordinates
from stepsize.nbody._options import kernel_params, parse
from stepsize.nbody._result import EnsembleResult, Event, History
from stepsize.nbody._simulation import STATUS, relative_error
from stepsize.nbody._system import System
from stepsize.nbody._wh import wh_state
from stepsize.ode import solve_ensemble

BACKENDS = ("numba", "cuda")


def integrate_ensemble(
    systems,
    t_end,
    method="hermite4",
    *,
    backend="numba",
    save_every=None,
    checkpoint=None,
    chunk_size=1000,
    client=None,
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
    ``backend``: "numba" (default, compiled loops on all cores) or "cuda" (one GPU thread per
    system; hermite4, leapfrog and gbs; ``stats`` then reports the useful-lane fractions);
    gr15 and wh run on the CPU only (``collision="stop"`` only: a merger changes the number of
    bodies).
    ``client``: a ``dask.distributed.Client``; the systems are split into chunks of
    ``chunk_size``, each run as one task on the cluster (with ``backend`` on the worker).
    ``checkpoint``: a path; the systems are run ``chunk_size`` at a time and every finished
    chunk saved there (atomically), so that a rerun with the same arguments keeps the chunks an
    interrupted run finished and runs only the others.
    ``stats["threads"]`` (numba back end, one local run): the members, chunks and CPU seconds
    of each thread.
    """
    systems = _check_systems(systems)
    opts = parse(method, options)
    if opts.on_event != "stop":
        raise ValueError("on_event must be 'stop' in integrate_ensemble ('record' needs integrate)")
    if backend not in BACKENDS:
        raise ValueError(f"backend: unknown {backend!r}; known: {', '.join(BACKENDS)}")
    if not opts.is_ode and method not in MEMBER_METHODS + CARRIED_METHODS:
        raise ValueError(f"method {method!r} has no ensemble loop; use integrate")
    if opts.collision == "merge":
        raise ValueError("collision must be 'stop' in integrate_ensemble ('merge' needs integrate)")
    if opts.collision is not None and method != "gr15":
        raise ValueError(
            f"collision in integrate_ensemble needs gr15 (its loop tests overlaps), not {method!r}"
        )
    if backend == "cuda" and method not in MEMBER_METHODS:
        raise ValueError(f"backend 'cuda' runs {', '.join(MEMBER_METHODS)} only, not {method!r}")
    if opts.is_ode and (opts.encounter_distance or opts.escape_radius):
        raise ValueError(
            "encounter_distance and escape_radius need hermite4, leapfrog or gbs in "
            "integrate_ensemble"
        )
    chunks = split(len(systems), chunk_size)
    check_client(client)
    times = output_times(t_end, save_every)
    job = (times, opts, save_every, {"method": method, **options}, backend)
    start = time.perf_counter()
    if checkpoint is None and client is None:
        out, resumed = _run_part(systems, job), 0
    else:
        key = None
        if checkpoint is not None:
            key = fingerprint(
                _stack(systems),
                {"method": method, "options": opts.as_dict(), "output times": times.tolist()},
            )
        out, resumed = _run_chunks(systems, chunks, job, client, checkpoint, key)
    out.stats = {
        "threads": out.stats.get("threads") if client is None and checkpoint is None else None,
        "method": method,
        "options": opts.as_dict(),
        "backend": backend,
        "wall_s": time.perf_counter() - start,
        "resumed": resumed,
        "chunks": len(chunks) if client is not None or checkpoint is not None else 1,
        "distributed": client is not None,
    }
    if backend == "cuda":
        grid, warp = lane_fractions(out.steps)
        out.stats.update(useful_lane_fraction=grid, warp_lane_fraction=warp)
    return out


def _run_part(systems, job):
    """The results of ``systems`` (a chunk) for ``job`` = (times, opts, save_every, options,
    backend); a plain function so that Dask can ship it to a worker."""
    times, opts, save_every, options, backend = job
    if opts.is_ode:
        return _run_ode(systems, times, opts, save_every, options)
    return _run_threads(systems, times, opts, save_every is not None, backend)


def _run_stacked(stacked, job):
    """``_run_part`` on (positions, velocities, masses, G) stacked over members: what a Dask
    worker receives (plain arrays pickle; a System is immutable)."""
    pos, vel, masses, G = stacked
    systems = [System._trusted(masses[k], pos[k], vel[k], float(G[k])) for k in range(len(G))]
    return _run_part(systems, job)


def _run_chunks(systems, chunks, job, client, path, key):
    """Run the chunks not finished in the checkpoint at ``path`` (locally in order, or on the
    Dask ``client`` as they complete), saving each finished one; the results in member order
    and the number of members read back from the checkpoint."""
    store = Store(
        lambda: ckpt.load(path, key),
        lambda res, members: ckpt.save(path, key, res, members),
        ckpt.concat,
        ckpt.take,
    )
    return run_chunks(
        chunks,
        lambda lo, hi: _run_part(systems[lo:hi], job),
        lambda lo, hi: (_run_stacked, _stack(systems[lo:hi]), job),
        store,
        client,
        checkpoint=path is not None,
    )


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
        K.angular_momentum_into(pos[s], vel[s], masses[s], ang[s])
        K.center_of_mass_into(pos[s], masses[s], xc[s])
        K.center_of_mass_into(vel[s], masses[s], vc[s])
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
        if s in ("encounter", "collision"):
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
def _run_chunk(lo, hi, method, limit, save, arrays, work_shape, vec_size):
    """Members lo..hi-1 one after the other, sharing one scratch set."""
    times, e0 = arrays[4], arrays[5]
    scratch = (np.empty(work_shape), np.empty(vec_size), np.empty(work_shape[1], dtype=np.int8))
    for s in range(lo, hi):
        state, control, hist = member_views(s, arrays)
        run_member(method, state, control, times, limit, e0[s], save, hist, scratch)


@numba.njit(**K.NJIT)
def _run_gr15_chunk(lo, hi, limit, save, arrays, extra):
    """``_run_chunk`` for gr15; ``extra``: the ``gr15_state`` arrays stacked over members."""
    times, e0 = arrays[4], arrays[5]
    b, e, xlo, vlo, active, radii = extra
    n, d = arrays[0].shape[1:]
    scratch = (np.empty((2, n, d)), np.empty(1), np.empty(n, dtype=np.int8))
    for s in range(lo, hi):
        state, control, hist = member_views(s, arrays)
        own = (b[s], e[s], xlo[s], vlo[s], active[s], radii[s])
        run_gr15_member(state, control, times, limit, e0[s], save, hist, scratch, own)


@numba.njit(**K.NJIT)
def _run_wh_chunk(lo, hi, limit, save, arrays, extra):
    """``_run_chunk`` for wh; ``extra``: the ``wh_state`` arrays stacked over members."""
    times, e0 = arrays[4], arrays[5]
    wx, wv, planets, eta, mu, active, mode, drifts, kicks, idrifts, ikicks = extra
    n, d = arrays[0].shape[1:]
    scratch = (np.empty((2, n, d)), np.empty(1), np.empty(n, dtype=np.int8))
    for s in range(lo, hi):
        state, control, hist = member_views(s, arrays)
        own = (wx[s], wv[s], planets[s], eta[s], mu[s], active[s], mode[s], drifts[s],
               kicks[s], idrifts[s], ikicks[s])  # fmt: skip
        run_wh_member(state, control, times, limit, e0[s], save, hist, scratch, own)


CARRIED = {"gr15": (gr15_state, _run_gr15_chunk), "wh": (wh_state, _run_wh_chunk)}


def _carried_state(method, pos, masses, G, opts):
    """The arrays ``gr15`` / ``wh`` carry (``gr15_state``, ``wh_state``), made for every member
    and stacked over members."""
    make = CARRIED[method][0]
    rows = [make(masses[k], pos[k], opts, G[k]) for k in range(pos.shape[0])]
    stacked = []
    for i in range(len(rows[0])):
        items = [np.asarray(r[i]) for r in rows]
        if any(a.shape != items[0].shape for a in items):
            raise ValueError(
                f"systems: method {method!r} in integrate_ensemble needs the same massive "
                "bodies (masses > 0) in every system"
            )
        stacked.append(np.ascontiguousarray(np.stack(items)))
    return tuple(stacked)


def guided_bounds(m, threads, share=8, smallest=2):
    """Chunk boundaries over [0, m) for ``threads`` threads, guided schedule: each chunk is
    1 / (``share`` x threads) of the members still left (at least ``smallest``), so the chunks
    shrink towards the end and the last ones, which decide when the threads finish together,
    are a few members each."""
    bounds = [0]
    while bounds[-1] < m:
        left = m - bounds[-1]
        bounds.append(bounds[-1] + min(left, max(smallest, left // (share * threads))))
    return bounds


def _parallel_chunks(m, fn, threads=None):
    """Run ``fn(lo, hi)`` over [0, m) in chunks on ``threads`` threads (default
    ``numba.get_num_threads()``; the compiled loops release the GIL); returns the work each
    thread did: {"members": [...], "chunks": [...], "cpu_s": [...]} (CPU seconds of the thread,
    which on a loaded machine show the parallel speed-up that wall time cannot).

    Dynamic schedule: chunks in member order (``guided_bounds``: large first, a few members
    each at the end), each taken by whichever thread is free (a ``prange`` would split the
    members statically, so that one member of very different cost, a close encounter, would
    hold up a whole thread's share; here it holds up only its own chunk while the other
    threads take the rest)."""
    threads = max(1, min(numba.get_num_threads() if threads is None else threads, m))
    bounds = guided_bounds(m, threads)
    work = {}

    def run(lo, hi):
        start = time.thread_time()
        fn(lo, hi)
        used = time.thread_time() - start
        mine = work.setdefault(threading.get_ident(), [0, 0, 0.0])
        mine[0], mine[1], mine[2] = mine[0] + int(hi - lo), mine[1] + 1, mine[2] + used

    if threads == 1:
        run(0, m)
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(run, bounds[:-1], bounds[1:]))
    rows = list(work.values())
    return {key: [r[i] for r in rows] for i, key in enumerate(("members", "chunks", "cpu_s"))}


def _run_threads(systems, times, opts, save, backend="numba"):
    """Hermite / leapfrog / gbs members through ``run_member``: on CPU threads, or with
    ``backend="cuda"`` as one GPU kernel (the same function, one thread per member); gr15 / wh
    members through their own loops on CPU threads."""
    pos, vel, masses, G = _stack(systems)
    m, n, d = pos.shape
    eps2 = opts.softening**2
    e0, l0, x0, v0 = _invariants(pos, vel, masses, G, eps2)
    per_g = {g: kernel_params(opts, g) for g in set(G.tolist())}  # G is mostly one value
    par = np.stack([per_g[g] for g in G.tolist()])
    hist = _buffers(m, n, d, times, save)
    scal = np.zeros((m, K.N_SCAL))
    cnt = np.zeros((m, K.N_CNT), dtype=np.int64)
    method = MEMBER_METHODS.index(opts.method) if opts.method in MEMBER_METHODS else -1
    work_shape, vec_shape = scratch_shape(opts.method, n, d)
    limit = opts.max_energy_error
    if backend == "cuda":
        from stepsize.nbody._cuda import MemberArrays, run_cuda

        work = np.zeros((m,) + work_shape)
        vec = np.zeros((m,) + vec_shape)
        esc = np.zeros((m, n), dtype=np.int8)
        arrays = MemberArrays(pos, vel, masses, par, times, e0, hist, scal, cnt, work, vec, esc)
        run_cuda(method, limit, save, arrays)
        threads = None
    elif opts.method in CARRIED:
        arrays = (pos, vel, masses, par, times, e0, hist, scal, cnt)
        extra = _carried_state(opts.method, pos, masses, G, opts)
        chunk = CARRIED[opts.method][1]
        threads = _parallel_chunks(m, lambda lo, hi: chunk(lo, hi, limit, save, arrays, extra))
    else:
        arrays = (pos, vel, masses, par, times, e0, hist, scal, cnt)
        threads = _parallel_chunks(
            m,
            lambda lo, hi: _run_chunk(lo, hi, method, limit, save, arrays, work_shape, vec_shape),
        )
    status = np.array([STATUS.get(int(c), "energy") for c in cnt[:, K.C_STATUS]])
    out = _assemble(
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
    out.stats = {"threads": threads}
    return out


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
            controller=opts.controller,
            max_steps=opts.max_steps,
            args=(mass_tuple, float(g), opts.softening),
            inplace=True,
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
                p, v = coords[k].at(r.y[row][:, j], tj)
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
