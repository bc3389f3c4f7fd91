"""stepsize.optim optimizers against pytorch-optimizer 4.1, closed forms and convex optima."""

import copy
import math

import pytest
import torch
import torch.nn.functional as F

from stepsize.optim import SGDP, AdaGradNorm, AdamP, DiffGrad, EXAdam

po = pytest.importorskip("pytorch_optimizer")
torch.set_num_threads(1)
DT = torch.float64


class ScaleInvariantNet(torch.nn.Module):
    """A filter bank used only through its row-normalised weights (as under batch norm), so the
    AdamP/SGDP projection triggers on ``W``; the head is an ordinary linear layer."""

    def __init__(self):
        super().__init__()
        self.W = torch.nn.Parameter(torch.randn(6, 4, dtype=DT))
        self.head = torch.nn.Linear(6, 3, dtype=DT)

    def forward(self, x):
        return self.head(torch.tanh(x @ F.normalize(self.W, dim=1).T))


def _data():
    g = torch.Generator().manual_seed(0)
    return torch.randn(32, 4, generator=g, dtype=DT), torch.randint(0, 3, (32,), generator=g)


def _trajectory(make, steps=40, lr_of_step=None):
    X, y = _data()
    torch.manual_seed(1)
    model = ScaleInvariantNet()
    opt = make(model.parameters())
    out = []
    for t in range(1, steps + 1):
        if lr_of_step is not None:
            for group in opt.param_groups:
                group["lr"] = lr_of_step(t)
        opt.zero_grad()
        F.cross_entropy(model(X), y).backward()
        opt.step()
        out.append(torch.cat([p.detach().reshape(-1) for p in model.parameters()]))
    return torch.stack(out)


def _close(a, b, rtol):
    scale = b.abs().max()
    assert (a - b).abs().max() <= rtol * scale, float((a - b).abs().max() / scale)


# Same definitions: same trajectories to rounding (40 steps, float64).
SAME = {
    "sgdp": (
        lambda p: SGDP(p, lr=0.1, momentum=0.9, weight_decay=1e-2),
        lambda p: po.SGDP(p, lr=0.1, momentum=0.9, weight_decay=1e-2),
    ),
    "sgdp-nesterov": (
        lambda p: SGDP(p, lr=0.05, momentum=0.8, nesterov=True),
        lambda p: po.SGDP(p, lr=0.05, momentum=0.8, nesterov=True),
    ),
    # eps = 0: where eps goes no longer matters.
    "adamp-eps0": (
        lambda p: AdamP(p, lr=1e-2, eps=0.0, weight_decay=0.1),
        lambda p: po.AdamP(p, lr=1e-2, eps=0.0, weight_decay=0.1),
    ),
    "exadam-v2": (
        lambda p: EXAdam(p, lr=1e-2, weight_decay=0.1),
        lambda p: po.EXAdam(p, lr=1e-2, weight_decay=0.1),
    ),
    # L2 weight decay on both sides; a large eps makes pytorch-optimizer's extra 1e-15 under
    # the square root (below) shift the step by < 1e-15 / (2 eps sqrt(v)) relative.
    "diffgrad-l2": (
        lambda p: DiffGrad(p, lr=1e-2, eps=1e-3, weight_decay=1e-2),
        lambda p: po.DiffGrad(p, lr=1e-2, eps=1e-3, weight_decay=1e-2, weight_decouple=False),
    ),
}


@pytest.mark.parametrize("name", sorted(SAME))
def test_same_trajectory_as_pytorch_optimizer(name):
    ours, theirs = SAME[name]
    _close(_trajectory(ours), _trajectory(theirs), 1e-12 if name != "diffgrad-l2" else 1e-9)


def test_exadam_v1_is_v2_with_the_growing_step():
    """v1 = v2 with lr_t = lr ln(sqrt(2 (t + 1))) (no weight decay: that is not grown)."""
    lr = 1e-2
    v1 = _trajectory(lambda p: EXAdam(p, lr=lr, version=1))
    peer = _trajectory(
        lambda p: po.EXAdam(p, lr=lr), lr_of_step=lambda t: lr * math.log(math.sqrt(2.0 * (t + 1)))
    )
    _close(v1, peer, 1e-12)
    v2 = _trajectory(lambda p: EXAdam(p, lr=lr, version=2), steps=1)
    theta0 = _trajectory(lambda p: EXAdam(p, lr=0.0), steps=1)[0]
    assert torch.allclose(v1[0] - theta0, math.log(2.0) * (v2[0] - theta0), rtol=1e-12)


def _one_step(make, g, p0=1.0):
    p = torch.nn.Parameter(torch.full((3,), p0, dtype=DT))
    opt = make([p])
    p.grad = g.clone()
    opt.step()
    return p.detach() - p0


def test_adamp_epsilon_placement_differs_from_pytorch_optimizer():
    """First step of a 1-D weight (no projection), closed forms: the paper/official code use
    m_hat / (sqrt(v_hat) + eps) = g / (|g| + eps); pytorch-optimizer uses
    g / (|g| + eps / sqrt(1 - beta2))."""
    lr, eps, b2 = 0.1, 1e-3, 0.999
    g = torch.tensor([1e-3, -2e-3, 5e-2], dtype=DT)
    ours = _one_step(lambda p: AdamP(p, lr=lr, eps=eps), g)
    theirs = _one_step(lambda p: po.AdamP(p, lr=lr, eps=eps), g)
    assert torch.allclose(ours, -lr * g / (g.abs() + eps), rtol=1e-12)
    assert torch.allclose(theirs, -lr * g / (g.abs() + eps / math.sqrt(1 - b2)), rtol=1e-12)
    assert (ours - theirs).abs().max() > 0.3 * lr


def test_diffgrad_differences_from_pytorch_optimizer():
    lr, b2 = 0.1, 0.999
    # 1) Its denominator sqrt(v + 1e-15): a tiny gradient gets a much shorter first step.
    g = torch.tensor([1e-9, -1e-9, 2e-9], dtype=DT)
    ours = _one_step(lambda p: DiffGrad(p, lr=lr, eps=0.0), g)
    theirs = _one_step(lambda p: po.DiffGrad(p, lr=lr, eps=0.0), g)
    xi = torch.sigmoid(g.abs())
    c = math.sqrt(1 - b2)
    assert torch.allclose(ours, -lr * c * xi * g / (c * g.abs()), rtol=1e-12)
    assert torch.allclose(
        theirs, -lr * c * xi * g / torch.sqrt((1 - b2) * g * g + 1e-15), rtol=1e-12
    )
    assert ours.abs().min() > 10 * theirs.abs().max()
    # 2) Its default weight decay is decoupled, the paper's code adds wd * theta to g.
    g = torch.tensor([0.3, -0.2, 0.1], dtype=DT)
    wd = 0.5
    ours = _one_step(lambda p: DiffGrad(p, lr=lr, weight_decay=wd), g)
    theirs = _one_step(lambda p: po.DiffGrad(p, lr=lr, weight_decay=wd), g)
    assert not torch.allclose(ours, theirs, rtol=1e-3)
    g_l2 = g + wd * 1.0
    first = _one_step(lambda p: DiffGrad(p, lr=lr), g_l2)
    assert torch.allclose(ours, first, rtol=1e-14)


def test_adagradnorm_equals_adagrad_on_one_scalar():
    """With a single scalar parameter AdaGrad-Norm is AdaGrad (torch.optim.Adagrad, eps=0)."""

    def run(make):
        x = torch.nn.Parameter(torch.tensor([3.0], dtype=DT))
        opt = make([x])
        out = []
        for _ in range(30):
            opt.zero_grad()
            ((x - 1.0) ** 4 + x**2).sum().backward()
            opt.step()
            out.append(float(x.detach()))
        return torch.tensor(out, dtype=DT)

    ours = run(lambda p: AdaGradNorm(p, lr=0.5, b0=0.3))
    ref = run(lambda p: torch.optim.Adagrad(p, lr=0.5, initial_accumulator_value=0.09, eps=0.0))
    _close(ours, ref, 1e-12)


def _ridge():
    """Ridge regression with a closed-form optimum, condition number ~ 30."""
    g = torch.Generator().manual_seed(3)
    A = torch.randn(60, 5, generator=g, dtype=DT) @ torch.diag(
        torch.tensor([3.0, 2.0, 1.0, 0.8, 0.5], dtype=DT)
    )
    b = torch.randn(60, generator=g, dtype=DT)
    lam = 0.1
    x_star = torch.linalg.solve(A.T @ A / 60 + lam * torch.eye(5, dtype=DT), A.T @ b / 60)
    return A, b, lam, x_star


CONVEX = {
    "DiffGrad": (lambda p: DiffGrad(p, lr=0.05), 3000),
    "AdamP": (lambda p: AdamP(p, lr=0.05), 3000),
    "SGDP": (lambda p: SGDP(p, lr=0.05, momentum=0.9), 1500),
    "EXAdam-v2": (lambda p: EXAdam(p, lr=0.05), 3000),
    "EXAdam-v1": (lambda p: EXAdam(p, lr=0.02, version=1), 3000),
    "AdaGradNorm": (lambda p: AdaGradNorm(p, lr=5.0), 1500),
}


@pytest.mark.parametrize("name", sorted(CONVEX))
def test_convergence_to_the_ridge_optimum(name):
    """Full-batch ridge regression, cosine-annealed lr: the iterate reaches the closed-form
    optimum (relative error 1e-4, ~ lr_final * gradient noise floor of Adam-type rules)."""
    make, steps = CONVEX[name]
    A, b, lam, x_star = _ridge()
    x = torch.nn.Parameter(torch.zeros(5, dtype=DT))
    opt = make([x])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * ((A @ x - b) ** 2).mean() + 0.5 * lam * x @ x).backward()
        opt.step()
        sched.step()
    assert float((x.detach() - x_star).norm() / x_star.norm()) < 1e-4


def _train(make, steps, model=None, closure_style=False):
    X, y = _data()
    torch.manual_seed(1)
    model = model or ScaleInvariantNet()
    opt = make(model.parameters())
    for _ in range(steps):

        def closure():
            opt.zero_grad()
            loss = F.cross_entropy(model(X), y)
            loss.backward()
            return loss

        if closure_style:
            opt.step(closure)
        else:
            closure()
            opt.step()
    return model, opt


ALL = {
    "DiffGrad": lambda p: DiffGrad(p, lr=1e-2, weight_decay=1e-3),
    "AdamP": lambda p: AdamP(p, lr=1e-2, weight_decay=1e-2, nesterov=True),
    "SGDP": lambda p: SGDP(p, lr=0.1, weight_decay=1e-3),
    "EXAdam": lambda p: EXAdam(p, lr=1e-2, version=1, weight_decay=1e-3),
    "AdaGradNorm": lambda p: AdaGradNorm(p, lr=0.5, weight_decay=1e-3),
}


@pytest.mark.parametrize("name", sorted(ALL))
def test_state_dict_round_trip_resumes_bit_for_bit(name):
    make = ALL[name]
    model, opt = _train(make, 5)
    clone = copy.deepcopy(model)
    opt2 = make(clone.parameters())
    opt2.load_state_dict(copy.deepcopy(opt.state_dict()))
    X, y = _data()
    for m, o in ((model, opt), (clone, opt2)):
        for _ in range(5):
            o.zero_grad()
            F.cross_entropy(m(X), y).backward()
            o.step()
    for p, q in zip(model.parameters(), clone.parameters()):
        assert torch.equal(p, q)


@pytest.mark.parametrize("name", sorted(ALL))
def test_closure_and_param_groups(name):
    make = ALL[name]
    a, _ = _train(make, 3)
    b, _ = _train(make, 3, closure_style=True)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)
    # A group with lr = 0 does not move (weight decay is scaled by lr everywhere, or is L2).
    torch.manual_seed(1)
    model = ScaleInvariantNet()
    frozen = [p.detach().clone() for p in model.head.parameters()]
    opt = make([{"params": [model.W]}, {"params": model.head.parameters(), "lr": 0.0}])
    X, y = _data()
    loss = None
    for _ in range(3):

        def closure():
            opt.zero_grad()
            out = F.cross_entropy(model(X), y)
            out.backward()
            return out

        loss = opt.step(closure)
    assert torch.is_tensor(loss) and math.isfinite(float(loss.detach()))
    for p, q in zip(model.head.parameters(), frozen):
        assert torch.equal(p.detach(), q)


def test_projection_keeps_scale_invariant_norm_nearly_constant():
    """Heo et al.'s claim on one weight: without the radial step ||W|| grows far less."""

    def growth(make):
        model, _ = _train(make, 60)
        return float(model.W.detach().norm())

    torch.manual_seed(1)
    w0 = float(ScaleInvariantNet().W.detach().norm())
    assert growth(lambda p: SGDP(p, lr=0.5, momentum=0.9)) - w0 < 0.2 * (
        growth(lambda p: torch.optim.SGD(p, lr=0.5, momentum=0.9)) - w0
    )


@pytest.mark.parametrize(
    "bad",
    [
        lambda p: AdamP(p, lr=-1.0),
        lambda p: DiffGrad(p, betas=(0.9, 1.0)),
        lambda p: EXAdam(p, version=3),
        lambda p: SGDP(p, momentum=1.0),
        lambda p: AdaGradNorm(p, b0=0.0),
    ],
)
def test_bad_hyperparameters_are_named(bad):
    with pytest.raises((ValueError, TypeError), match=r"lr|betas|version|momentum|b0"):
        bad([torch.nn.Parameter(torch.zeros(2))])
