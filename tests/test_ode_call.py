"""The call into the compiled loop: adapters passed as addresses, the run returned packed in one
array (``stepsize.ode._packed``) and cut into the result's parts."""

import numba
import numpy as np

from stepsize.ode import solve
from stepsize.ode._build import build_problem
from stepsize.ode._rhs_call import rhs_at


def vdpol(t, y, mu):
    """Van der Pol: non-stiff at the start, stiff on its slow branches for large ``mu``."""
    return np.array([y[1], mu * ((1.0 - y[0] ** 2) * y[1] - y[0])])


def crossing(t, y, mu):
    return y[0]


@numba.njit
def _call_at(address, t, y, out, ctx):
    rhs_at(address)(t, y, out, ctx)


def test_an_adapter_called_at_its_address_is_the_adapter():
    y = np.array([2.0, -0.5])
    built = build_problem(vdpol, 0.0, y, (3.0,), compiled=True)
    out = np.empty(2)
    _call_at(built.addressed.rhs, 0.25, y, out, built.problem.ctx)
    np.testing.assert_array_equal(out, vdpol(0.25, y, 3.0))
    assert built.addressed.rhs == built.problem.rhs.address


def test_every_part_of_a_packed_run_lands_where_the_result_reads_it():
    """Points, dense segments, events, switches and the profile of one automatic-switching run
    agree with one another (a misplaced part of the packed array would not)."""
    mu = 200.0
    r = solve(
        vdpol,
        (0.0, 300.0),
        [2.0, 0.0],
        args=(mu,),
        rtol=1e-5,
        atol=1e-7,
        dense_output=True,
        events=crossing,
        profile=True,
    )
    assert r.success and r.stats["compiled"] and r.stats["nswitch"] >= 2
    assert r.y.shape == (2, r.t.size) and r.y.flags.c_contiguous
    np.testing.assert_allclose(r.sol(r.t), r.y, rtol=1e-12, atol=1e-12)  # segments vs points
    assert r.t[-1] == 300.0 and np.all(np.diff(r.t) > 0)
    (te,), (ye,) = r.t_events, r.y_events
    assert te.size >= 2 and ye.shape == (te.size, 2)
    np.testing.assert_allclose(ye[:, 0], 0.0, atol=1e-6)
    np.testing.assert_allclose(r.sol(te).T, ye, rtol=1e-9, atol=1e-9)
    assert r.profile.t.size == r.stats["naccept"]
    np.testing.assert_array_equal(r.profile.t, r.t[:-1])  # each accepted step from its start
    switches = [iv[1] for iv in r.stats["intervals"][:-1]]
    assert len(switches) == r.stats["nswitch"]
    kinds = r.profile.implicit
    flips = r.profile.t[1:][kinds[1:] != kinds[:-1]]
    np.testing.assert_allclose(flips, switches, rtol=0, atol=0)
