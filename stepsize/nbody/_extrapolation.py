"""Extrapolation of a symmetric base method in h^2: the Aitken-Neville tableau and Hairer &
Wanner's ODEX control of step and order, shared by ``gbs`` (the leapfrog in time) and
``archain`` (the time-transformed leapfrog in chain coordinates).

A symmetric one-step method's global error expands in even powers of h (Gragg 1965; Hairer,
Nørsett & Wanner, *Solving ODEs I*, sections II.9 and II.14).  Over a macro step H, row j of
the tableau is the base method with n_j = 2j substeps (Deuflhard 1983), and

    T_{j,l+1} = T_{j,l} + (T_{j,l} - T_{j-1,l}) / ((n_j / n_{j-l})^2 - 1)

gains two orders per column: T_{j,j} is of order 2j (``INV_RATIO`` holds the divisors).

Step and order (ODEX, simplified; HNW II.9, eqs. 9.25-9.28): column j, with the scaled
error err_j of T_{j,j} - T_{j,j-1}, proposes

    H_j = H min(4, max(0.1, 0.94 (0.65 / err_j)^(1 / (2j - 1))))

at a work per unit time W_j = A_j / H_j, A_j = 1 + n_1 + ... + n_j (force evaluations).  With
target column k (2 <= k < K_MAX) a step is accepted at the first column j >= k - 1 with
err_j <= 1 and given up after column k + 1 (``column_verdict``); a step given up is redone with
the H_j of the column of least W_j, at most 0.9 H (``retry``); after an accepted column j the
next target is j - 1 or j, whichever works less, or j + 1 (with H_j A_{j+1} / A_j) when column
j was clearly cheaper than column j - 1 (``next_step``).

The functions allocate nothing and read only scalars and 1-D arrays, so that ``gbs`` also
compiles them as CUDA device functions.
"""

import math

import numba
import numpy as np

from stepsize.nbody._gravity import NJIT, greater, lesser

K_MAX = 9
# 1 / ((n_j / n_{j-l})^2 - 1) of the Aitken-Neville recursion, n_j = 2j, for 1 <= l < j <= K_MAX
INV_RATIO = np.array(
    [[1.0 / ((j / (j - l)) ** 2 - 1.0) if 0 < l < j else 0.0 for l in range(K_MAX + 1)]
     for j in range(K_MAX + 1)]
)  # fmt: skip
ACCEPT, GO_ON, GIVE_UP = 1, 0, -1


@numba.njit(**NJIT, inline="always")
def work_table(work):
    """A_j = 1 + n_1 + ... + n_j into ``work`` (K_MAX + 1,), n_j = 2j."""
    work[0] = 1.0
    for j in range(1, K_MAX + 1):
        work[j] = work[j - 1] + 2 * j


@numba.njit(**NJIT, inline="always")
def column_verdict(err, H, j, k, work, h_col, w_col):
    """Record column j's proposed step H_j (h_col[j]) and work per unit time W_j (w_col[j])
    from its scaled error ``err``; ACCEPT, GIVE_UP or GO_ON (to column j + 1) for target k."""
    if not math.isfinite(err):
        fac = 0.1
    elif err == 0.0:
        fac = 4.0
    else:
        fac = lesser(4.0, greater(0.1, 0.94 * (0.65 / err) ** (1.0 / (2 * j - 1))))
    h_col[j] = H * fac
    w_col[j] = work[j] / h_col[j]
    if err <= 1.0 and j >= k - 1:
        return ACCEPT
    if j >= k + 1:
        return GIVE_UP
    return GO_ON


@numba.njit(**NJIT, inline="always")
def retry(H, last, h_col, w_col):
    """(H, k) for the attempt after a step given up at column ``last``: the step of the
    column 2..last of least work (columns of zero work were not reached), at most 0.9 H."""
    best = 2
    for i in range(3, last + 1):
        if w_col[i] > 0.0 and w_col[i] < w_col[best]:
            best = i
    return lesser(h_col[best], 0.9 * H), lesser(greater(best, 2), K_MAX - 1)


@numba.njit(**NJIT, inline="always")
def next_step(j, landing, h_prev, work, h_col, w_col):
    """(k, H) for the step after one accepted at column j; a step cut short to land on an
    output time (``landing``) says little about the next one, which keeps at least the step
    ``h_prev`` proposed before it."""
    if j >= 3 and w_col[j - 1] < 0.9 * w_col[j]:
        k_next, h_next = j - 1, h_col[j - 1]
    elif j < K_MAX - 1 and (j == 2 or w_col[j] < 0.9 * w_col[j - 1]):
        k_next, h_next = j + 1, h_col[j] * work[j + 1] / work[j]
    else:
        k_next, h_next = j, h_col[j]
    if landing:
        h_next = greater(h_next, h_prev)
    return lesser(greater(k_next, 2), K_MAX - 1), h_next
