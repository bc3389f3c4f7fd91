"""Rosenbrock methods as data, and their compiled stage loop.

A Rosenbrock method is stored in Hairer & Wanner's transformed form (*Solving ODEs II*, Sec. IV.7,
eq. (7.25); the form of ``rodas.f``), which needs no Jacobian-vector products::

    (1/(h gamma) I - J) u_i = F(t + c_i h, y + sum_{j<i} a_ij u_j) + sum_{j<i} (C_ij/h) u_j
                              + h d_i dF/dt,
    y_new = y + sum_i m_i u_i,   err = sum_i e_i u_i,
    y(t + theta h) = y + sum_k theta^(k+1) sum_i H[i, k] u_i      (dense output, power basis).

A method given in the standard form ``(I - h gamma_ii J) k_i = h F(y + sum alpha_ij k_j)
+ h J sum gamma_ij k_j``, ``y_new = y + sum b_i k_i`` converts with ``u = Gamma k``:
``a = alpha Gamma^-1``, ``C = diag(1/gamma) - Gamma^-1``, ``m = b Gamma^-1``, ``d_i = sum_j
gamma_ij`` (the same for the error and dense weights).  ``fsal``: the last stage is evaluated at
``y_new`` itself (``a[-1] == m``), so ``F(t + h, y_new)`` is the next step's first stage.
"""

from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np

from stepsize.control import FilterController, rms_error_norm
from stepsize.ode._arrays import all_finite, copy_into
from stepsize.ode._bundles import JAC_CONSTANT, NONFINITE, SINGULAR
from stepsize.ode._jacobian import (
    jacobian_work,
    matrix_shapes,
    time_derivative,
    update_jacobian,
    update_sparse_jacobian,
)
from stepsize.ode._jit import NJIT, twinned
from stepsize.ode._mass import factor_iteration, mass_product, solve_iteration

CONTROLLER = FilterController(
    b=(2.0, -1.0, 0.0), a=(-1.0, 0.0), qmin=0.2, qmax=6.0, name="Gustafsson"
)
"""Gustafsson's predictive controller of ``rodas.f``: ``h_new/h = safe (h/h_old)
(err_old/err^2)^(1/k)``, and never more than the elementary ``safe err^(-1/k)``; ratio in
[1/5, 6].  As a Söderlind filter: ``b = (2, -1, 0)``, ``a = (-1, 0)``."""


@dataclass(frozen=True)
class RosenbrockTableau:
    """Coefficients of a Rosenbrock method in transformed form (see the module docstring)."""

    name: str
    order: int
    error_order: int
    gamma: float
    a: np.ndarray
    C: np.ndarray
    c: np.ndarray
    d: np.ndarray
    m: np.ndarray
    e: np.ndarray
    H: np.ndarray
    fsal: bool
    source: str

    @property
    def n_stages(self) -> int:
        return self.c.size


def _lower_inverse(L):
    """The inverse of the lower triangular ``L`` by forward substitution, exactly lower
    triangular: ``X[j, j] = 1 / L[j, j]``,
    ``X[i, j] = -(sum_{k=j}^{i-1} L[i, k] X[k, j]) / L[i, i]``
    (Golub & Van Loan, Sec. 3.1; NumPy only, so that importing the tableaux needs no SciPy)."""
    n = L.shape[0]
    X = np.zeros_like(L)
    for j in range(n):
        X[j, j] = 1.0 / L[j, j]
        for i in range(j + 1, n):
            X[i, j] = -(L[i, j:i] @ X[j:i, j]) / L[i, i]
    return X


def _from_standard(alpha, Gamma, b, b_err, H_k):
    """Transformed ``(a, C, d, m, e, H)`` from the standard form (Hairer & Wanner IV.7.25)."""
    Gi = _lower_inverse(Gamma)
    a = np.tril(alpha @ Gi, -1)
    C = np.tril(np.diag(1.0 / np.diag(Gamma)) - Gi, -1)
    return a, C, Gamma.sum(axis=1), b @ Gi, b_err @ Gi, Gi.T @ H_k


def _rosenbrock23():
    """Shampine & Reichelt's modified Rosenbrock triple (MATLAB ``ode23s``), L-stable, order 2(3).

    With ``d = 1/(2 + sqrt 2)``, ``e32 = 6 + sqrt 2``, ``W = I - h d J``, ``T = h d dF/dt``
    (L. F. Shampine, M. W. Reichelt, "The MATLAB ODE suite", SIAM J. Sci. Comput. 18, 1997,
    Sec. 4.1; OrdinaryDiffEq.jl's ``Rosenbrock23``)::

        k1 = W^-1 (F0 + T),                       F1 = F(t + h/2, y + h k1/2),
        k2 = W^-1 (F1 - k1) + k1,                 y_new = y + h k2,
        k3 = W^-1 (F2 - e32 (k2 - F1) - 2 (k1 - F0) + T),   F2 = F(t + h, y_new),
        err = h (k1 - 2 k2 + k3) / 6,
        y(t + s h) = y + h (s (1 - s) k1 + s (s - 2 d) k2) / (1 - 2 d).

    In standard form (``K_i = h k_i``; substitute ``F0 = W k1 - T``, ``F1 = W (k2 - k1) + k1``):
    ``gamma_ii = d``, ``gamma_21 = -d``, ``gamma_31 = d (e32 - 2)``, ``gamma_32 = -e32 d``,
    ``alpha_21 = 1/2``, ``alpha_32 = 1``, ``b = (0, 1, 0)``, error weights ``(1, -2, 1)/6``.
    """
    d = 1.0 / (2.0 + np.sqrt(2.0))
    e32 = 6.0 + np.sqrt(2.0)
    alpha = np.array([[0.0, 0.0, 0.0], [0.5, 0.0, 0.0], [0.0, 1.0, 0.0]])
    Gamma = np.array([[d, 0.0, 0.0], [-d, d, 0.0], [d * (e32 - 2.0), -e32 * d, d]])
    b = np.array([0.0, 1.0, 0.0])
    b_err = np.array([1.0, -2.0, 1.0]) / 6.0
    H_k = np.array([[1.0, -1.0], [-2.0 * d, 1.0], [0.0, 0.0]]) / (1.0 - 2.0 * d)
    a, C, dd, m, e, H = _from_standard(alpha, Gamma, b, b_err, H_k)
    # FSAL: b is alpha's last row, so the solution weights are a's last row -- taken as that row,
    # so that the equality is exact rather than up to the rounding of two products.
    assert np.array_equal(b, alpha[-1])
    m = a[-1].copy()
    return RosenbrockTableau(
        name="rosenbrock23",
        order=2,
        error_order=2,
        gamma=d,
        a=a,
        C=C,
        c=np.array([0.0, 0.5, 1.0]),
        d=dd,
        m=m,
        e=e,
        H=H,
        fsal=True,
        source="Shampine & Reichelt, SIAM J. Sci. Comput. 18 (1997), Sec. 4.1 (ode23s)",
    )


def _rodas4():
    """Hairer & Wanner's RODAS (``rodas.f``, METH = 1): 6 stages, order 4(3), stiffly accurate.

    Coefficients as printed in ``rodas.f`` (subroutine ROCOE; also Hairer & Wanner II,
    Table IV.7.3).  Stages 5 and 6 sit at ``c = 1``; stage 6 is evaluated at the embedded
    solution ``y + sum a_5j u_j + u_5`` and ``y_new`` adds ``u_6``, which is the error estimate.
    Dense output (``CONTRO``): ``y(theta) = (1 - theta) y + theta (y_new + (1 - theta) (q2 +
    theta q3))`` with ``q2 = sum D2j u_j``, ``q3 = sum D3j u_j``, here in the power basis.
    """
    a = np.zeros((6, 6))
    a[1, 0] = 0.1544000000000000e01
    a[2, :2] = [0.9466785280815826e00, 0.2557011698983284e00]
    a[3, :3] = [0.3314825187068521e01, 0.2896124015972201e01, 0.9986419139977817e00]
    a[4, :4] = [
        0.1221224509226641e01,
        0.6019134481288629e01,
        0.1253708332932087e02,
        -0.6878860361058950e00,
    ]
    a[5, :5] = [*a[4, :4], 1.0]
    C = np.zeros((6, 6))
    C[1, 0] = -0.5668800000000000e01
    C[2, :2] = [-0.2430093356833875e01, -0.2063599157091915e00]
    C[3, :3] = [-0.1073529058151375e00, -0.9594562251023355e01, -0.2047028614809616e02]
    C[4, :4] = [
        0.7496443313967647e01,
        -0.1024680431464352e02,
        -0.3399990352819905e02,
        0.1170890893206160e02,
    ]
    C[5, :5] = [
        0.8083246795921522e01,
        -0.7981132988064893e01,
        -0.3152159432874371e02,
        0.1631930543123136e02,
        -0.6058818238834054e01,
    ]
    q2 = np.array(
        [
            0.1012623508344586e02,
            -0.7487995877610167e01,
            -0.3480091861555747e02,
            -0.7992771707568823e01,
            0.1025137723295662e01,
            0.0,
        ]
    )
    q3 = np.array(
        [
            -0.6762803392801253e00,
            0.6087714651680015e01,
            0.1643084320892478e02,
            0.2476722511418386e02,
            -0.6594389125716872e01,
            0.0,
        ]
    )
    m = np.array([*a[4, :4], 1.0, 1.0])
    # (1 - s) y + s (y_new + (1 - s)(q2 + s q3)) - y = s (dy + q2) + s^2 (q3 - q2) - s^3 q3
    H = np.stack([m + q2, q3 - q2, -q3], axis=1)
    return RosenbrockTableau(
        name="rodas4",
        order=4,
        error_order=3,
        gamma=0.25,
        a=a,
        C=C,
        c=np.array([0.0, 0.386, 0.21, 0.63, 1.0, 1.0]),
        d=np.array([0.25, -0.1043, 0.1035, -0.3620000000000023e-01, 0.0, 0.0]),
        m=m,
        e=np.array([0.0, 0.0, 0.0, 0.0, 0.0, 1.0]),
        H=H,
        fsal=False,
        source="Hairer & Wanner, Solving ODEs II, Sec. IV.7; rodas.f (ROCOE, METH = 1)",
    )


def _rodas5p():
    """Steinebach's Rodas5P: 8 stages, order 5(4), stiffly accurate, dense output of order 4.

    G. Steinebach, "Construction of Rosenbrock-Wanner method Rodas5P and numerical benchmarks
    within the Julia Differential Equations package", BIT Numer. Math. 63, 27 (2023); the
    coefficients in transformed form as OrdinaryDiffEq.jl's ``Rodas5PTableau`` (its
    ``rosenbrock_tableaus.jl``), which follows the structure of Di Marzo's Rodas5: stages 6-8
    sit at ``c = 1`` with ``d = 0``, stage 7 is evaluated at ``y + sum a_6j u_j + u_6``, stage 8
    at that plus ``u_7``, ``y_new`` adds ``u_8``, which is the error estimate.  Dense output
    ``y(theta) = (1 - theta) y + theta (y_new + (1 - theta) (q1 + theta (q2 + theta q3)))``,
    ``q_k = sum_j h_(k+1)j u_j``, here in the power basis (coefficients of theta .. theta^4:
    ``dy + q1``, ``q2 - q1``, ``q3 - q2``, ``-q3``).
    """
    a = np.zeros((8, 8))
    a[1, 0] = 3.0
    a[2, :2] = [2.849394379747939, 0.45842242204463923]
    a[3, :3] = [-6.954028509809101, 2.489845061869568, -10.358996098473584]
    a[4, :4] = [2.8029986275628964, 0.5072464736228206, -0.3988312541770524, -0.04721187230404641]
    a[5, :5] = [
        -7.502846399306121,
        2.561846144803919,
        -11.627539656261098,
        -0.18268767659942256,
        0.030198172008377946,
    ]
    a[6, :6] = [*a[5, :5], 1.0]
    a[7, :7] = [*a[5, :5], 1.0, 1.0]
    C = np.zeros((8, 8))
    C[1, 0] = -14.155112264123755
    C[2, :2] = [-17.97296035885952, -2.859693295451294]
    C[3, :3] = [147.12150275711716, -1.41221402718213, 71.68940251302358]
    C[4, :4] = [165.43517024871676, -0.4592823456491126, 42.90938336958603, -5.961986721573306]
    C[5, :5] = [
        24.854864614690072,
        -3.0009227002832186,
        47.4931110020768,
        5.5814197821558125,
        -0.6610691825249471,
    ]
    C[6, :6] = [
        30.91273214028599,
        -3.1208243349937974,
        77.79954646070892,
        34.28646028294783,
        -19.097331116725623,
        -28.087943162872662,
    ]
    C[7, :7] = [
        37.80277123390563,
        -3.2571969029072276,
        112.26918849496327,
        66.9347231244047,
        -40.06618937091002,
        -54.66780262877968,
        -9.48861652309627,
    ]
    h = np.array(
        [
            [
                25.948786856663858,
                -2.5579724845846235,
                10.433815404888879,
                -2.3679251022685204,
                0.524948541321073,
                1.1241088310450404,
                0.4272876194431874,
                -0.17202221070155493,
            ],
            [
                -9.91568850695171,
                -0.9689944594115154,
                3.0438037242978453,
                -24.495224566215796,
                20.176138334709044,
                15.98066361424651,
                -6.789040303419874,
                -6.710236069923372,
            ],
            [
                11.419903575922262,
                2.8879645146136994,
                72.92137995996029,
                80.12511834622643,
                -52.072871366152654,
                -59.78993625266729,
                -0.15582684282751913,
                4.883087185713722,
            ],
        ]
    )
    m = np.array([*a[5, :5], 1.0, 1.0, 1.0])
    q1, q2, q3 = h
    H = np.stack([m + q1, q2 - q1, q3 - q2, -q3], axis=1)
    gamma = 0.21193756319429014
    return RosenbrockTableau(
        name="rodas5p",
        order=5,
        error_order=4,
        gamma=gamma,
        a=a,
        C=C,
        c=np.array(
            [
                0.0,
                0.6358126895828704,
                0.4095798393397535,
                0.9769306725060716,
                0.4288403609558664,
                1.0,
                1.0,
                1.0,
            ]
        ),
        d=np.array(
            [
                gamma,
                -0.42387512638858027,
                -0.3384627126235924,
                1.8046452872882734,
                2.325825639765069,
                0.0,
                0.0,
                0.0,
            ]
        ),
        m=m,
        e=np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]),
        H=H,
        fsal=False,
        source="Steinebach, BIT Numer. Math. 63, 27 (2023); OrdinaryDiffEq.jl Rodas5PTableau",
    )


ROSENBROCK23 = _rosenbrock23()
RODAS4 = _rodas4()
RODAS5P = _rodas5p()
ROSENBROCK = {"rosenbrock23": ROSENBROCK23, "rodas4": RODAS4, "rodas5p": RODAS5P}


class RosenbrockWork(NamedTuple):
    """Jacobian ``J``, the factored ``M = 1/(h gamma) I - J`` and its pivots, stage increments
    ``U``, ``dF/dt``, the finite differences' workspace (:func:`~stepsize.ode._jacobian.
    jacobian_work`), two buffers for a mass matrix, the sparse LU's scratch; with a sparsity
    pattern (``method.sparse``) ``J`` is (1, nnz) and ``M`` (1, size of the LU)
    (:mod:`stepsize.ode._sparse`)."""

    J: np.ndarray
    M: np.ndarray
    piv: np.ndarray
    U: np.ndarray
    dfdt: np.ndarray
    jac_factor: np.ndarray
    cu: np.ndarray
    mcu: np.ndarray
    lu_work: np.ndarray


@twinned
def rosenbrock_work(method, problem, n):
    """Workspace of ``method`` (None without one); banded storage when ``problem.kl >= 0``."""
    if method is None:
        return None
    j_shape, m_shape = matrix_shapes(method.sparse, problem.kl, problem.ku, n)
    sparse = method.sparse.perm.size > 0
    return RosenbrockWork(
        np.zeros(j_shape),
        np.zeros(m_shape),
        np.zeros(n, dtype=np.int64),
        np.zeros((method.c.size, n)),
        np.zeros(n),
        jacobian_work(n),
        np.zeros(n),
        np.zeros(n),
        np.zeros(n if sparse else 0),
    )


@twinned
def rosenbrock_attempt(problem, method, rw, imp, work, t, h, steps, info):
    """One attempted step: a fresh Jacobian if stale, ``M`` factored for ``h`` if not yet, the
    stages.  Returns ``(err, failure code or 0)``.

    A method whose ``W = 1/(h gamma) I - J`` needs the exact ``J`` (Rodas) may still keep a
    constant Jacobian (``jac`` an array) and, while ``h`` is unchanged (to 1e-10: ``(t + h) -
    t`` rounds), its LU: ``W`` is then exact to rounding, only ``dF/dt`` is new at every step.
    Any other Jacobian is fresh at every step, which resets the LU."""
    st = imp[0]
    if st.jac_stale and problem.jac_mode == JAC_CONSTANT and st.jac_current:
        st.jac_stale = False  # the constant J of the first step, still in rw.J
        info[0].nfev += time_derivative(problem, t, work.y, work.f0, work.fbuf, rw.dfdt)
    if st.jac_stale:
        if method.sparse.perm.size > 0:
            sp = method.sparse
            update_sparse_jacobian(problem, imp, sp, rw.J, rw.jac_factor, work, t, steps.atol, info)
        else:
            update_jacobian(
                problem, imp, rw.J, rw.jac_factor, work, t, steps.atol, info, method.mass
            )
        info[0].nfev += time_derivative(problem, t, work.y, work.f0, work.fbuf, rw.dfdt)
    if abs(st.lu_h - h) > 1e-10 * abs(h):  # a new step size, not the rounding of t + h - t
        kl, ku = problem.kl, problem.ku
        shift = 1.0 / (h * method.gamma)
        sp = method.sparse
        singular = factor_iteration(sp, rw.J, kl, ku, shift, method.mass, rw.M, rw.piv, rw.lu_work)
        info[0].nlu += 1
        st.lu_h = h if singular == 0 else 0.0
        if singular != 0 or not np.isfinite(st.jnorm):
            return np.nan, SINGULAR
    info[0].nfev += rosenbrock_stages(problem, method, rw, work, t, h)
    err = rms_error_norm(work.err, work.y, work.y_new, steps.rtol, steps.atol)
    if not (np.isfinite(err) and all_finite(work.y_new)):
        return np.nan, NONFINITE
    return err, 0


@twinned
def rosenbrock_stages(problem, method, rw, work, t, h):
    """The stages with the factored ``M``: fills ``rw.U``, ``work.y_new`` and ``work.err``; with
    ``fsal`` the last stage leaves ``F(t + h, y_new)`` in ``work.f_new``.  With a mass matrix
    the stage coupling is ``M sum_j (C_ij/h) u_j`` (``rodas.f`` for ``M y' = f``).  Returns the
    number of F evaluations."""
    a, C, c, d, U = method.a, method.C, method.c, method.d, rw.U
    y, ybuf, fbuf = work.y, work.ybuf, work.f_new
    s = c.size
    n = y.size
    inv_h = 1.0 / h  # C_ij / h as a product: no division per coupling and component
    for i in range(s):
        if i == 0:
            copy_into(fbuf, work.f0)
        else:
            for k in range(n):
                acc = y[k]
                for j in range(i):
                    acc += a[i, j] * U[j, k]
                ybuf[k] = acc
            problem.rhs(t + c[i] * h, ybuf, fbuf, problem.ctx)
        if method.mass.shape[0] == 0:
            for k in range(n):
                acc = fbuf[k] + h * d[i] * rw.dfdt[k]
                for j in range(i):
                    acc += C[i, j] * inv_h * U[j, k]
                U[i, k] = acc
        else:
            for k in range(n):
                acc = 0.0
                for j in range(i):
                    acc += C[i, j] * inv_h * U[j, k]
                rw.cu[k] = acc
            mass_product(method.sparse, method.mass, rw.cu, rw.mcu)
            for k in range(n):
                U[i, k] = fbuf[k] + h * d[i] * rw.dfdt[k] + rw.mcu[k]
        solve_iteration(method.sparse, rw.M, problem.kl, problem.ku, rw.piv, U[i], rw.lu_work)
    for k in range(n):
        acc = 0.0
        err = 0.0
        for i in range(s):
            acc += method.m[i] * U[i, k]
            err += method.e[i] * U[i, k]
        work.y_new[k] = ybuf[k] if method.fsal else y[k] + acc
        work.err[k] = err
    return s - 1


@numba.njit(**NJIT)
def rosenbrock_dense(U, H, coef):
    """Interpolant coefficients ``coef[k, j] = sum_i H[i, j] U[i, k]``."""
    for k in range(coef.shape[0]):
        for j in range(H.shape[1]):
            acc = 0.0
            for i in range(H.shape[0]):
                acc += H[i, j] * U[i, k]
            coef[k, j] = acc
    for k in range(coef.shape[0]):
        for j in range(H.shape[1], coef.shape[1]):
            coef[k, j] = 0.0
