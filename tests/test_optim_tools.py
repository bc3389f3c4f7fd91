"""stepsize.optim tools: sharpness vs exact Hessians, batch tests, AutoLRS, scaling, stiffness."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from stepsize.optim import (
    AdaGradNorm,
    AdaptiveBatchSampler,
    AutoLRS,
    SharpnessMonitor,
    exponential_fit,
    exponential_forecast,
    hessian_vector_product,
    inner_product_test,
    norm_test,
    per_sample_gradients,
    residual_stiffness,
    scale_lr,
    scaling_exponent,
    top_hessian_eigenvalue,
)

torch.set_num_threads(1)
DT = torch.float64


def _mlp(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(3, 5, dtype=DT), torch.nn.Tanh(), torch.nn.Linear(5, 2, dtype=DT)
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sharpness_matches_the_exact_hessian(seed):
    model = _mlp(seed)
    g = torch.Generator().manual_seed(seed)
    X, Y = torch.randn(20, 3, generator=g, dtype=DT), torch.randn(20, 2, generator=g, dtype=DT)
    s = top_hessian_eigenvalue(lambda: F.mse_loss(model(X), Y), model, tol=1e-8, max_iter=2000)
    evals, evecs = torch.linalg.eigh(_exact_hessian(model, X, Y))
    assert s.converged
    assert s.value == pytest.approx(float(evals[-1]), rel=1e-10)
    assert abs(float(s.vector @ evecs[:, -1])) == pytest.approx(1.0, abs=1e-6)


def _exact_hessian(model, X, Y):
    """The dense Hessian of the MSE loss in the flattened parameters (autograd.functional)."""
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for p in model.parameters()]
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])

    def f(theta):
        out, i = {}, 0
        for name, shape in zip(names, shapes):
            n = math.prod(shape)
            out[name] = theta[i : i + n].view(shape)
            i += n
        return F.mse_loss(torch.func.functional_call(model, out, (X,)), Y)

    return torch.autograd.functional.hessian(f, flat)


def test_largest_algebraic_eigenvalue_when_a_negative_one_dominates():
    """f(x) = 0.5 x^T D x with D = diag(-5, 1, 2): lambda_max = 2, not the dominant -5."""
    D = torch.tensor([-5.0, 1.0, 2.0], dtype=DT)
    x = torch.nn.Parameter(torch.tensor([0.3, -0.2, 0.5], dtype=DT))
    s = top_hessian_eigenvalue(lambda: 0.5 * (D * x * x).sum(), [x], tol=1e-10, max_iter=5000)
    assert s.value == pytest.approx(2.0, rel=1e-9)
    v = torch.tensor([0.1, 0.2, 0.3], dtype=DT)
    assert torch.allclose(hessian_vector_product(lambda: 0.5 * (D * x * x).sum(), [x], v), D * v)


def test_monitor_logs_edge_of_stability_on_a_quadratic():
    """GD on 0.5 x^T D x with lr = 1.9 / lambda_max: edge = 1.9 at every logged step, and the
    secant estimate (Hairer's, shared with stepsize.control) never exceeds it."""
    D = torch.tensor([4.0, 1.0, 0.25], dtype=DT)
    x = torch.nn.Parameter(torch.tensor([1.0, 1.0, 1.0], dtype=DT))
    lr = 1.9 / 4.0
    opt = torch.optim.SGD([x], lr=lr)

    def loss():
        return 0.5 * (D * x * x).sum()

    mon = SharpnessMonitor([x], loss, opt, every=5, tol=1e-10, max_iter=500)
    for _ in range(20):
        opt.zero_grad()
        loss().backward()
        opt.step()
        mon.step()
    assert mon.log.step == [5, 10, 15, 20]
    assert np.allclose(mon.log.edge, 1.9, rtol=1e-8)
    assert len(mon.log.secant) == 19
    assert max(mon.log.secant) <= 1.9 * (1 + 1e-12)
    assert mon.log.secant[-1] == pytest.approx(1.9, rel=1e-3)  # the top mode dominates late


def _linear_regression_grads(X, y, w):
    """Per-sample gradients of 0.5 (x^T w - y)^2, in closed form: (x^T w - y) x."""
    r = X @ w - y
    return {"w": r[:, None] * X}


def test_norm_and_inner_product_tests_match_their_formulas():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(16, 4, generator=g, dtype=DT)
    y = torch.randn(16, generator=g, dtype=DT)
    w = torch.tensor([0.5, -1.0, 2.0, 0.1], dtype=DT)
    G = _linear_regression_grads(X, y, w)["w"].numpy()
    gbar = G.mean(axis=0)
    var = G.var(axis=0, ddof=1).sum()
    eta = 0.3
    t = norm_test(_linear_regression_grads(X, y, w), eta)
    assert t.statistic == pytest.approx(var, rel=1e-12)
    assert t.passed == (var / 16 <= eta**2 * gbar @ gbar)
    assert t.next_batch_size == max(16, math.ceil(var / (eta**2 * gbar @ gbar)))
    ip = (G @ gbar).var(ddof=1)
    t2 = inner_product_test(_linear_regression_grads(X, y, w), 0.3)
    assert t2.statistic == pytest.approx(ip, rel=1e-12)
    assert t2.next_batch_size == max(16, math.ceil(ip / (0.09 * (gbar @ gbar) ** 2)))


def test_per_sample_gradients_are_the_closed_form_ones():
    model = torch.nn.Linear(4, 1, bias=False, dtype=DT)
    g = torch.Generator().manual_seed(1)
    X = torch.randn(8, 4, generator=g, dtype=DT)
    y = torch.randn(8, 1, generator=g, dtype=DT)
    grads, losses = per_sample_gradients(model, lambda o, t: 0.5 * F.mse_loss(o, t), X, y)
    w = model.weight.detach()[0]
    ref = _linear_regression_grads(X, y[:, 0], w)["w"]
    assert torch.allclose(grads["weight"][:, 0, :], ref, rtol=1e-12)
    assert torch.allclose(losses, 0.5 * (X @ w - y[:, 0]) ** 2, rtol=1e-12)


def test_adaptive_batch_grows_when_the_norm_test_fails_and_not_otherwise():
    """Noisy targets near the least-squares optimum: ||g|| -> 0 while the per-sample variance
    stays, so the norm test fails and the batch grows; noiseless data far from the optimum
    pass."""
    g = torch.Generator().manual_seed(2)
    n = 512
    X = torch.randn(n, 4, generator=g, dtype=DT)
    w_true = torch.tensor([1.0, -2.0, 0.5, 0.0], dtype=DT)

    def run(noise, eta, steps=40):
        y = (X @ w_true + noise * torch.randn(n, generator=g, dtype=DT))[:, None]
        model = torch.nn.Linear(4, 1, bias=False, dtype=DT)
        torch.nn.init.zeros_(model.weight)
        sampler = AdaptiveBatchSampler(n, 8, test="norm", eta=eta, seed=0)
        opt = AdaGradNorm(model.parameters(), lr=1.0)
        loader = torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(X, y), batch_sampler=sampler
        )
        k = 0
        while k < steps:
            for xb, yb in loader:
                opt.zero_grad()
                sampler.backward(model, F.mse_loss, xb, yb)
                opt.step()
                k += 1
                if k == steps:
                    break
        return sampler

    noisy = run(1.0, 0.5)
    sizes = noisy.history.batch_size
    assert sizes[0] == 8 and noisy.batch_size > 8 * 4 and max(sizes) <= noisy.batch_size
    assert noisy.history.samples[-1] == sum(sizes)
    assert not all(noisy.history.passed)
    # Noiseless, far from the optimum: Var / ||g||^2 ~ d + 1 = 5 < eta^2 b = 2.25 * 8.
    clean = run(0.0, 1.5, steps=5)
    assert clean.batch_size == 8 and all(clean.history.passed)


def test_sampler_batch_grows_by_the_formula_and_respects_the_cap():
    s = AdaptiveBatchSampler(100, 4, eta=0.1, max_batch_size=50)
    grads = {"w": torch.tensor([[1.0, 0.0], [-1.0, 0.0], [1.2, 0.0], [-1.0, 0.0]], dtype=DT)}
    t = s.observe(grads)
    assert not t.passed and s.batch_size == 50  # need ~ 1.1e4 > cap
    batches = list(iter(s))
    assert sorted(i for b in batches for i in b) == list(range(100))
    assert [len(b) for b in batches] == [50, 50]


def test_exponential_forecast_recovers_the_model():
    t = np.arange(40.0)
    y = 2.0 * np.exp(-0.07 * t) + 0.3
    a, b, c = exponential_fit(y)
    assert (a, b, c) == pytest.approx((2.0, -0.07, 0.3), rel=1e-5)
    assert exponential_forecast(y, 400) == pytest.approx(2.0 * math.exp(-28.0) + 0.3, rel=1e-5)


def _quadratic_loss_after(lr, D, tau):
    """0.5 sum_i D_i (1 - lr D_i)^(2 tau): GD's loss after tau steps from x = 1, exactly."""
    return 0.5 * float((D * (1 - lr * D) ** (2 * tau)).sum())


@pytest.mark.parametrize("seed", [0, 1])
def test_autolrs_picks_a_stable_good_rate_on_a_quadratic(seed):
    """GD on 0.5 x^T D x, D in [0.1, 1]: rates above 2/L = 2 diverge, small ones barely move.
    The stage's rate must be stable and reach, after tau steps, a loss below 1e-3 of the
    start (the search range's low end, 0.01, keeps 28 % of it)."""
    D = torch.linspace(0.1, 1.0, 10, dtype=DT)
    x = torch.nn.Parameter(torch.ones(10, dtype=DT))
    opt = torch.optim.SGD([x], lr=0.1)
    tau = 100
    sched = AutoLRS(
        opt,
        torch.nn.ParameterList([x]),
        1e-2,
        10.0,
        tau=tau,
        n_candidates=8,
        tau_max=tau,
        seed=seed,
    )
    for _ in range(8 * tau // 10 + tau):
        opt.zero_grad()
        loss = 0.5 * (D * x * x).sum()
        loss.backward()
        opt.step()
        sched.step(float(loss.detach()))
    stage = sched.history[0]
    assert len(stage.forecasts) == 8 and stage.lr in stage.candidates
    L0 = 0.5 * float(D.sum())
    assert stage.lr < 2.0
    assert _quadratic_loss_after(stage.lr, D, tau) < 1e-3 * L0
    assert _quadratic_loss_after(0.01, D, tau) > 0.25 * L0
    assert sched.search_steps == 8 * (tau // 10) and sched.train_steps == tau
    assert len(sched.history) == 2  # the next stage has started (tau capped at tau_max)
    # The stage trained from the restored checkpoint (x = 1) with the chosen rate: GD exactly.
    assert torch.allclose(x.detach(), (1 - stage.lr * D) ** tau, rtol=1e-10, atol=1e-300)


def test_scaling_rule():
    assert scale_lr(0.1, 32, 128) == pytest.approx(0.4)
    assert scale_lr(1e-3, 32, 128, rule="adam") == pytest.approx(2e-3)
    assert scale_lr(0.1, 32, 1024, lambda_max=10.0) == pytest.approx(0.2)
    assert scaling_exponent([16, 64, 256], [0.1, 0.2, 0.4]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="rule"):
        scale_lr(0.1, 32, 64, rule="cubic")


def test_residual_stiffness_of_linear_blocks():
    """f(x) = a x: x_{l+1} - x_l = h a x_l and f(x_{l+1}) - f(x_l) = a (x_{l+1} - x_l), so
    h lambda_hat = h |a| exactly, per block."""
    x = torch.randn(5, 3, dtype=DT)
    blocks = [lambda z: -0.5 * z, lambda z: 3.0 * z, lambda z: torch.zeros_like(z)]
    s = residual_stiffness(blocks, x, h=0.5)
    assert s.shape == (3, 5)
    assert np.allclose(s[0], 0.25) and np.allclose(s[1], 1.5) and np.allclose(s[2], 0.0)
    A = torch.tensor([[0.0, 2.0], [2.0, 0.0]], dtype=DT)  # eigenvalues +-2
    s2 = residual_stiffness([lambda z: z @ A.T], torch.randn(50, 2, dtype=DT))
    assert s2.max() <= 2.0 + 1e-12 and s2.min() >= 0.0
    with pytest.raises(ValueError, match="shape"):
        residual_stiffness([lambda z: z[:, :1]], x)


PROPS = settings(max_examples=30, deadline=None, derandomize=True)


@PROPS
@given(st.integers(2, 6), st.integers(2, 6), st.integers(0, 10_000))
def test_projection_removes_the_radial_part_channelwise(rows, cols, seed):
    """For a gradient orthogonal to each row of w (a scale-invariant filter bank) the
    channel test passes and the projected update has no component along any row of w."""
    from stepsize.optim import project_radial

    g = torch.Generator().manual_seed(seed)
    w = torch.randn(rows, cols, generator=g, dtype=DT)
    grad = torch.randn(rows, cols, generator=g, dtype=DT)
    grad -= (grad * w).sum(1, keepdim=True) / (w * w).sum(1, keepdim=True) * w
    u = torch.randn(rows, cols, generator=g, dtype=DT)
    out, projected = project_radial(w, grad, u.clone(), 0.1, 1e-12)
    assert projected
    assert torch.allclose((out * w).sum(dim=1), torch.zeros(rows, dtype=DT), atol=1e-10)
    assert torch.allclose(out + (u - out), u)  # only the radial part was removed
    assert torch.allclose(
        u - out, (u * w).sum(1, keepdim=True) / (w * w).sum(1, keepdim=True) * w, atol=1e-10
    )


@PROPS
@given(st.integers(2, 40), st.integers(1, 5), st.floats(0.05, 2.0), st.integers(0, 10_000))
def test_norm_test_next_batch_passes_on_the_same_statistics(b, d, eta, seed):
    """The suggested batch size is the smallest one whose variance-of-the-mean bound holds."""
    g = torch.Generator().manual_seed(seed)
    G = torch.randn(b, d, generator=g, dtype=DT) + torch.randn(d, generator=g, dtype=DT)
    t = norm_test({"w": G}, eta)
    need = t.statistic / (eta**2 * t.grad_norm_sq)
    assert t.next_batch_size >= b
    assert t.next_batch_size >= need - 1e-9
    if not t.passed:
        assert t.next_batch_size - 1 < need
