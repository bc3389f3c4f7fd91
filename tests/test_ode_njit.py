"""The solver callable from the user's own Numba code (``stepsize.ode.njit_solver``)."""

import numba
import numpy as np
import pytest

from stepsize.ode import njit_solver, solve


def oscillator(t, y, omega, damping):
    """Damped harmonic oscillator y'' = -omega^2 y - 2 damping y'."""
    out = np.empty(2)
    out[0] = y[1]
    out[1] = -omega * omega * y[0] - 2.0 * damping * y[1]
    return out


def exact(t, omega, damping):
    """y(t) for y(0) = 1, y'(0) = 0 (underdamped)."""
    w = np.sqrt(omega * omega - damping * damping)
    return np.exp(-damping * t) * (np.cos(w * t) + damping / w * np.sin(w * t))


SOLVER = njit_solver(oscillator, "dp5", args=(1.0, 0.1), max_steps=500)


@numba.njit
def sweep(omegas, y0, t_eval, rtol):
    """A parameter sweep written in @njit: y(t_eval[-1]) for each omega, and the statuses."""
    out = np.empty(omegas.size)
    status = np.empty(omegas.size, dtype=np.int64)
    for i in range(omegas.size):
        y, status[i] = SOLVER(t_eval, y0, (omegas[i], 0.1), rtol, rtol)
        out[i] = y[t_eval.size - 1, 0]
    return out, status


def test_inside_njit_equals_solve_and_the_exact_solution():
    omegas = np.array([0.5, 1.0, 2.0])
    y0 = np.array([1.0, 0.0])
    t_eval = np.array([0.0, 2.5, 5.0])
    ends, status = sweep(omegas, y0, t_eval, 1e-9)
    assert np.all(status == 0)
    for omega, end in zip(omegas, ends):
        ref = solve(
            oscillator,
            (0.0, 5.0),
            y0,
            method="dp5",
            rtol=1e-9,
            atol=1e-9,
            args=(omega, 0.1),
            t_eval=t_eval,
        )
        # the same loop, the same steps: equal up to rounding of the fused error norm
        assert end == pytest.approx(ref.y[0, -1], rel=1e-13, abs=1e-15)
        assert end == pytest.approx(exact(5.0, omega, 0.1), abs=1e-7)


def test_failure_gives_status_and_nan():
    y, status = SOLVER(np.array([0.0, 1e4]), np.array([1.0, 0.0]), (1.0, 0.1), 1e-10, 1e-10)
    assert status == -1  # max_steps (500) reached
    assert np.isnan(y[1]).all() and np.array_equal(y[0], [1.0, 0.0])


def test_other_dtypes_and_layouts_of_y0_and_t_eval_give_the_same_run():
    """``y0`` and ``t_eval`` reach the loop as they are when they are C-contiguous float64
    vectors (the loop only reads them) and as float64 copies otherwise: an integer ``y0`` and a
    strided ``t_eval`` with the same values give the same states, bit for bit; the arguments
    are left as they were."""
    t_eval = np.linspace(0.0, 5.0, 11)
    y0 = np.array([1.0, 0.0])
    y, status = SOLVER(t_eval, y0, (1.0, 0.1), 1e-8, 1e-8)
    strided = np.linspace(0.0, 5.0, 21)[::2]
    y_other, status_other = SOLVER(strided, np.array([1, 0]), (1.0, 0.1), 1e-8, 1e-8)
    assert status == status_other == 0
    np.testing.assert_array_equal(y_other, y)
    np.testing.assert_array_equal(y0, [1.0, 0.0])
    np.testing.assert_array_equal(strided, t_eval)
    np.testing.assert_allclose(y[:, 0], exact(t_eval, 1.0, 0.1), atol=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="method"):
        njit_solver(oscillator, "radau")
    with pytest.raises(TypeError, match=r"args\[0\]"):
        njit_solver(oscillator, "dp5", args=("fast",))


def _names_a_dispatcher(ty):
    if isinstance(ty, numba.core.types.Dispatcher):
        return True
    return any(_names_a_dispatcher(t) for t in getattr(ty, "types", ()))


def test_no_disk_cached_loop_function_is_specialised_to_a_users_function():
    """The loop inside ``SOLVER`` (compiled by the sweep above; compiled here if this test runs
    alone) holds the user's function: no disk-cached function may have been compiled for those
    types, or its cache index would name this test module and be unreadable -- every later
    ``solve`` in a process that cannot import the module fell back to the interpreter once
    (``_packed.bound`` was compiled cached)."""
    import sys

    SOLVER(np.array([0.0, 1.0]), np.array([1.0, 0.0]), (1.0, 0.1), 1e-6, 1e-6)
    checked = 0
    for name, module in list(sys.modules.items()):
        if not name.startswith("stepsize.ode."):
            continue
        for d in vars(module).values():
            if (
                isinstance(d, numba.core.registry.CPUDispatcher)
                and d._cache.__class__.__name__ != "NullCache"
            ):
                checked += 1
                for sig in d.signatures:
                    assert not any(map(_names_a_dispatcher, sig)), (name, d.py_func.__name__)
    assert checked > 20


def test_the_solver_runs_the_loop_solve_compiled():
    """``njit_solver`` passes the loop the very types ``solve`` does (its adapter by address):
    one compiled specialisation of the loop for the pair serves both, and a new ``fun``
    compiles no loop of its own (the loop compiles once per pair: the pair's generated stage
    sums are part of its type, so other tests' pairs add signatures of their own)."""
    from stepsize.ode._loop import integrate
    from stepsize.ode._solve import explicit_method

    y0 = np.array([1.0, 0.0])
    solve(oscillator, (0.0, 1.0), y0, method="dp5", args=(1.0, 0.1))
    SOLVER(np.array([0.0, 1.0]), y0, (1.0, 0.1), 1e-6, 1e-6)
    none = numba.types.none
    dp5 = numba.typeof(explicit_method("dp5"))
    explicit_only = [
        sig
        for sig in integrate.signatures
        if sig[2] == dp5 and sig[3] == sig[4] == none and sig[8:] in ((), (none,))
    ]
    assert len(explicit_only) == 1, explicit_only
