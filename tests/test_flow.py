"""stepsize.flow: samplers, teachers, training, metrics, planning, straightening, fitness."""

import math
import pickle

import numpy as np
import pytest
import torch

from stepsize import flow
from stepsize import schedules as S
from stepsize.flow._data import digit_labels

A = torch.tensor([[0.0, -1.0], [1.0, 0.0]], dtype=torch.float64)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Small models run fastest on one thread, and far faster than on several busy cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def rotation(x, t):
    """``x' = J x``: a rotation by angle ``t``, solved exactly."""
    return x @ A.T


def rotated(x, angle):
    c, s = math.cos(angle), math.sin(angle)
    return x @ torch.tensor([[c, -s], [s, c]], dtype=torch.float64).T


@pytest.fixture(scope="module")
def x0():
    return torch.randn(64, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("solver, order", [("euler", 1), ("heun", 2), ("midpoint", 2)])
def test_samplers_converge_at_their_order(x0, solver, order):
    exact = rotated(x0, 1.0)
    errs = [
        torch.max(torch.abs(flow.sample(rotation, x0, S.uniform(k), solver) - exact)).item()
        for k in (16, 32)
    ]
    assert math.log2(errs[0] / errs[1]) == pytest.approx(order, abs=0.15)


def test_sample_keeps_shape_and_kind_and_checks_input(x0):
    out = flow.sample(rotation, x0.numpy(), S.karras(5))
    assert isinstance(out, np.ndarray) and out.shape == (64, 2)
    with pytest.raises(ValueError, match="solver: unknown 'rk4'"):
        flow.sample(rotation, x0, S.uniform(2), "rk4")
    with pytest.raises(ValueError, match="strictly increasing"):
        flow.sample(rotation, x0, [0.0, 0.7, 0.5, 1.0])
    with pytest.raises(ValueError, match="floating-point batch"):
        flow.sample(rotation, torch.zeros(3, 2, dtype=torch.int64), S.uniform(2))


def test_teacher_and_reference(x0):
    tr = flow.teacher(rotation, x0, 10)
    assert tr.x.shape == (11, 64, 2) and tr.v.shape == (10, 64, 2)
    np.testing.assert_allclose(tr.x[1:], tr.x[:-1] + 0.1 * tr.v, atol=1e-14)
    np.testing.assert_allclose(tr.v, tr.x[:-1] @ A.numpy().T, atol=1e-14)
    heun = flow.teacher(rotation, x0, 10, solver="heun")
    assert np.abs(heun.x[-1] - rotated(x0, 1.0).numpy()).max() < np.abs(tr.x[-1] - heun.x[-1]).max()
    at = [0.0, 0.3, 0.77, 1.0]
    states = flow.reference(rotation, x0, 1000, at=at)
    for s, t in zip(states, at):
        torch.testing.assert_close(s, rotated(x0, t), atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="strictly increasing times in \\[0, 1\\]"):
        flow.reference(rotation, x0, at=[0.5, 0.2])


def test_metrics_against_closed_forms():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((4000, 2)), rng.standard_normal((4000, 2))
    shift = np.array([3.0, 4.0])
    assert flow.sliced_wasserstein(x, y) < 0.05
    # W2 of a shift along theta is |theta . a|; the mean of (theta . a)^2 is |a|^2 / d
    assert flow.sliced_wasserstein(x, y + shift, n_projections=500) == pytest.approx(
        5.0 / math.sqrt(2.0), rel=0.03
    )
    assert flow.sliced_wasserstein(x[:1000], y + shift) == pytest.approx(5 / math.sqrt(2), rel=0.1)
    # exact for unequal sizes: quantile functions 0|1 on halves against 0|.5|1|2 on quarters
    assert flow.sliced_wasserstein([[0.0], [1.0]], [[0.0], [0.5], [1.0], [2.0]]) == pytest.approx(
        math.sqrt(0.3125), rel=1e-12
    )
    assert abs(flow.mmd(x[:800], y[:800])) < 0.01 < flow.mmd(x[:800], y[:800] + 1.0)
    assert flow.energy_distance(x[:800], y[:800] + 1.0) > 10 * abs(
        flow.energy_distance(x[:800], y[:800])
    )
    a = rng.standard_normal((20000, 3)) * [1.0, 2.0, 0.5]
    b = rng.standard_normal((20000, 3)) * [1.5, 1.0, 0.5] + [1.0, 0.0, 0.0]
    exact = 1.0 + 0.5**2 + 1.0**2  # |mu|^2 + sum (s_a - s_b)^2 for diagonal covariances
    assert flow.frechet_distance(a, b) == pytest.approx(exact, rel=0.05)
    assert flow.teacher_error(x, x + shift) == pytest.approx(25.0)
    with pytest.raises(ValueError, match="same sample size"):
        flow.sliced_wasserstein(x, a)


def test_training_lowers_the_loss_and_resumes_identically(tmp_path, monkeypatch):
    kw = dict(batch=64, hidden=32, depth=2, seed=1, log_every=50)
    full = flow.train_flow("moons", 200, **kw)
    assert full.losses.shape == (4,) and full.losses[-1] < 0.9 * full.losses[0]
    assert full.stats["parameters"] == sum(p.numel() for p in full.model.parameters())
    ckpt = tmp_path / "moons.ckpt"
    step = torch.optim.lr_scheduler.LambdaLR.step
    calls = [0]

    def interrupted(self, *args, **kwargs):
        calls[0] += 1
        if calls[0] == 150:
            raise KeyboardInterrupt
        return step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.lr_scheduler.LambdaLR, "step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        flow.train_flow("moons", 200, checkpoint=ckpt, checkpoint_every=100, **kw)
    monkeypatch.undo()
    resumed = flow.train_flow("moons", 200, checkpoint=ckpt, checkpoint_every=100, **kw)
    for p, q in zip(full.model.parameters(), resumed.model.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    np.testing.assert_array_equal(resumed.losses, full.losses)
    with pytest.raises(ValueError, match="data: unknown 'mnist'"):
        flow.train_flow("mnist", 10)


@pytest.fixture(scope="module")
def moons():
    return flow.pretrained("moons")


@pytest.mark.parametrize(
    "name, bound", [("moons", 0.15), ("8gaussians", 0.6), ("checkerboard", 0.2)]
)
def test_pretrained_2d_models_sample_their_data(name, bound):
    model = flow.pretrained(name)
    noise = flow.make_noise(model, 2000, seed=0)
    samples = flow.sample(model, noise, S.uniform(100), "heun")
    data = flow.load_data(name, 2000, seed=1)
    swd = flow.sliced_wasserstein(samples, data)
    assert swd < bound and swd < 0.2 * flow.sliced_wasserstein(noise, data)
    assert abs(flow.mmd(samples[:1000], data[:1000])) < 0.01


def test_pretrained_digits_model_and_classifier():
    clf = flow.pretrained("digits-classifier")
    data = flow.load_data("digits")
    labels = digit_labels()
    with torch.no_grad():
        acc = (clf(torch.as_tensor(data, dtype=torch.float32)).argmax(1).numpy() == labels).mean()
    assert acc > 0.97
    model = flow.pretrained("digits")
    samples = flow.sample(model, flow.make_noise(model, 1000, seed=0), S.uniform(50), "heun")
    feats = flow.classifier_features(clf, data)
    fd = flow.frechet_distance(flow.classifier_features(clf, samples), feats)
    noise_fd = flow.frechet_distance(
        flow.classifier_features(
            clf, np.tanh(np.random.default_rng(0).standard_normal((1000, 64)))
        ),
        feats,
    )
    assert fd < 0.05 * noise_fd
    fit = flow.ScheduleFitness(
        model, flow.make_noise(model, 256, seed=1), "frechet", data, classifier=clf
    )
    assert fit(S.uniform(10)) < fit(S.uniform(2)) < fit(S.karras(2))
    with pytest.raises(ValueError, match="model: unknown 'cifar'"):
        flow.pretrained("cifar")


def test_plan_bellman_returns_a_schedule_that_beats_uniform_on_its_teacher(moons):
    noise = flow.make_noise(moons, 256, seed=0)
    ref = flow.reference(moons, noise, 200)
    errors = {}
    for method in flow.PLANNERS:
        t = flow.plan_bellman(moons, 3, n_grid=30, n_samples=256, seed=0, method=method)
        S.check_schedule(t)
        assert t.shape == (4,) and np.allclose(t * 30, np.round(t * 30))
        errors[method] = flow.teacher_error(flow.sample(moons, noise, t), ref)
    uniform = flow.teacher_error(flow.sample(moons, noise, S.uniform(3)), ref)
    assert min(errors["boss"], errors["oss"]) < uniform
    with pytest.raises(ValueError, match="method: unknown 'dp'"):
        flow.plan_bellman(moons, 3, method="dp")
    with pytest.raises(ValueError, match="shape is needed"):
        flow.plan_bellman(rotation, 3)


def test_straightening_makes_euler_steps_land_on_the_teacher(moons):
    times = flow.plan_bellman(moons, 2, n_grid=20, n_samples=128)
    res = flow.straighten(
        moons, times, n_pairs=1024, steps=300, batch=256, lr=1e-3, seed=0, n_teacher=100
    )
    assert res.stats["loss_after"] < 0.5 * res.stats["loss_before"]
    held_out = flow.make_noise(moons, 512, seed=99)
    ref = flow.reference(moons, held_out, 100)
    before = flow.teacher_error(flow.sample(moons, held_out, times), ref)
    after = flow.teacher_error(flow.sample(res.model, held_out, times), ref)
    assert after < 0.5 * before
    assert res.model is not moons


def test_schedule_fitness_is_picklable_and_drives_evolve(moons):
    noise = flow.make_noise(moons, 128, seed=3)
    fit = flow.ScheduleFitness(moons, noise)
    t = S.uniform(3)
    assert fit(t) == pytest.approx(
        flow.teacher_error(flow.sample(moons, noise, t), flow.reference(moons, noise))
    )
    assert pickle.loads(pickle.dumps(fit))(t) == fit(t)
    swd = flow.ScheduleFitness(moons, noise, "swd", flow.load_data("moons", 512))
    assert swd(S.uniform(20)) < swd(S.uniform(1))
    res = S.evolve(fit, S.uniform(20), 3, population=8, epochs=3)
    assert res.fitness <= fit(S.uniform(3))
    with pytest.raises(ValueError, match="needs data samples"):
        flow.ScheduleFitness(moons, noise, "mmd")
    with pytest.raises(ValueError, match="metric: unknown 'fid'"):
        flow.ScheduleFitness(moons, noise, "fid")


def test_compare_schedules_reports_every_schedule_and_the_teacher(moons):
    comp = flow.compare_schedules(
        moons,
        {"uniform": S.uniform(2), "ays": S.ays(2)},
        n_samples=128,
        data=flow.load_data("moons", 512),
        reference_steps=50,
    )
    assert [r["schedule"] for r in comp.rows] == ["uniform", "ays", "reference"]
    assert all("swd" in r for r in comp.rows) and comp.rows[-1]["error"] == 0.0
    assert comp.samples["ays"].shape == (128, 2)
