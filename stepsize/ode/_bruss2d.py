"""The 2-D Brusselator with diffusion, a large sparse stiff system (``2 N^2`` equations).

Hairer & Wanner, *Solving ODEs II*, Sec. IV.10 (BRUSS-2D), in the form of OrdinaryDiffEq's
"Solving Large Stiff Equations" tutorial and SciMLBenchmarks' BRUSS (also used with SUNDIALS
there): on the unit square with periodic boundaries, grid ``x_i = i / (N - 1)``,

    u' = 1 + u^2 v - 4.4 u + alpha Lap(u) + f(x, y, t),
    v' = 3.4 u - u^2 v + alpha Lap(v),

``alpha = 10 / dx^2`` times the 5-point stencil sum (``dx = 1 / (N - 1)``), the forcing ``f =
5`` in the disc ``(x - 0.3)^2 + (y - 0.6)^2 <= 0.1^2`` from ``t = 1.1`` on, and ``u(0) = 22 (y
(1 - y))^{3/2}``, ``v(0) = 27 (x (1 - x))^{3/2}``, on ``[0, 11.5]``.  The state is ``u`` then
``v``, each row-major in ``(i, j)`` (``x_i``, ``y_j``).  Each row of the Jacobian has 6 nonzeros
(5 of the stencil, one of the other species).
"""

import numpy as np

T_SPAN = (0.0, 11.5)
A, B, ALPHA = 3.4, 1.0, 10.0


def bruss2d(t, y, N):
    """``dy/dt`` of the 2-D Brusselator on an ``N x N`` grid (compilable by Numba)."""
    dx = 1.0 / (N - 1)
    alpha = ALPHA / dx**2
    out = np.empty(2 * N * N)
    m = N * N
    forcing = 5.0 if t >= 1.1 else 0.0
    for i in range(N):
        ip = i + 1 if i < N - 1 else 0
        im = i - 1 if i > 0 else N - 1
        x = i * dx
        for j in range(N):
            jp = j + 1 if j < N - 1 else 0
            jm = j - 1 if j > 0 else N - 1
            yy = j * dx
            k = i * N + j
            u, v = y[k], y[m + k]
            lap_u = y[im * N + j] + y[ip * N + j] + y[i * N + jp] + y[i * N + jm] - 4.0 * u
            lap_v = (
                y[m + im * N + j] + y[m + ip * N + j] + y[m + i * N + jp] + y[m + i * N + jm]
            ) - 4.0 * v
            f = forcing if (x - 0.3) ** 2 + (yy - 0.6) ** 2 <= 0.01 else 0.0
            uuv = u * u * v
            out[k] = alpha * lap_u + B + uuv - (A + 1.0) * u + f
            out[m + k] = alpha * lap_v + A * u - uuv
    return out


def bruss2d_y0(N):
    """The initial state on the ``N x N`` grid."""
    s = np.linspace(0.0, 1.0, N)
    x, yy = np.meshgrid(s, s, indexing="ij")
    u = 22.0 * (yy * (1.0 - yy)) ** 1.5
    v = 27.0 * (x * (1.0 - x)) ** 1.5
    return np.concatenate((u.ravel(), v.ravel()))


def bruss2d_sparsity(N):
    """The Jacobian's pattern, a ``scipy.sparse`` CSR matrix of 0/1."""
    import scipy.sparse as sps

    m = N * N
    rows, cols = [], []
    for i in range(N):
        for j in range(N):
            k = i * N + j
            nbrs = [k, ((i + 1) % N) * N + j, ((i - 1) % N) * N + j]
            nbrs += [i * N + (j + 1) % N, i * N + (j - 1) % N]
            for s in (0, m):
                rows += [s + k] * 5
                cols += [s + c for c in nbrs]
                rows.append(s + k)
                cols.append(m - s + k)
    data = np.ones(len(rows))
    pattern = sps.csr_matrix((data, (rows, cols)), shape=(2 * m, 2 * m))
    pattern.data[:] = 1.0
    return pattern


def bruss2d_jac(t, y, N):
    """The exact Jacobian, a ``scipy.sparse`` CSC matrix (the pattern of
    :func:`bruss2d_sparsity`): ``alpha`` times the periodic 5-point Laplacian in each species,
    and the reaction ``[[2 u v - (A + 1), u^2], [A - 2 u v, -u^2]]`` on the block diagonals."""
    import scipy.sparse as sps

    m = N * N
    u, v = y[:m], y[m:]
    alpha = ALPHA * (N - 1.0) ** 2
    ring = sps.diags([1.0, 1.0, -2.0, 1.0, 1.0], [-(N - 1), -1, 0, 1, N - 1], shape=(N, N))
    eye = sps.identity(N)
    lap = alpha * (sps.kron(ring, eye) + sps.kron(eye, ring))
    uv = 2.0 * u * v
    return sps.bmat(
        [
            [lap + sps.diags(uv - (A + 1.0)), sps.diags(u * u)],
            [sps.diags(A - uv), lap - sps.diags(u * u)],
        ],
        format="csc",
    )
