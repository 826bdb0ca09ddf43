"""Issue 13, bad inputs: counts, kinds, shapes and values refused with one-line ValueErrors.

Each test here failed before the fix (silent rounding, silent broadcasting, wrong kinds
accepted, numpy tracebacks or wrong numbers).
"""

import numpy as np
import pytest

import pdeflow as pf
from pdeflow.domains import Domain, domain_from_dict


def _one_line(err: pytest.ExceptionInfo) -> str:
    message = str(err.value)
    assert "\n" not in message
    return message


# ---- domains --------------------------------------------------------------------------------

@pytest.mark.parametrize("build, arg", [
    (lambda: pf.Circle(3.9), "n"),
    (lambda: pf.Circle(1024.5), "n"),
    (lambda: pf.Circle(True), "n"),
    (lambda: pf.Torus((16, 8.5)), "shape[1]"),
    (lambda: pf.Torus(16.2), "shape"),
    (lambda: pf.Interval(0, 1, 7.2), "n"),
    (lambda: pf.Box((0, 1), (0, 1), (4, 4.5)), "shape[1]"),
    (lambda: pf.Box((0, 1, 2), (0, 1), (4, 4)), "x_range"),
    (lambda: pf.Box((0, 1), (0,), (4, 4)), "y_range"),
])
def test_counts_are_integral_and_ranges_are_pairs(build, arg):
    """Circle(3.9) used to be a 3-cell circle and Box ignored a third range entry."""
    with pytest.raises(ValueError) as err:
        build()
    assert _one_line(err).startswith(arg)


def test_integral_counts_of_any_number_type_are_accepted():
    assert pf.Circle(np.int64(8)) == pf.Circle(8.0) == pf.Circle(8)
    assert pf.Torus((np.int32(4), 6.0)).shape == (4, 6)


@pytest.mark.parametrize("kwargs", [
    dict(lower=(0.0,), upper=(1.0,), shape=(8,), periodic=(True,), kind="circle"),
    dict(lower=(0.0,), upper=(2 * np.pi,), shape=(8,), periodic=(False,), kind="circle"),
    dict(lower=(0.0, 0.0), upper=(1.0, 1.0), shape=(8, 8), periodic=(False, False), kind="torus"),
    dict(lower=(0.0, 0.0), upper=(1.0, 2.0), shape=(8, 8), periodic=(True, True), kind="torus"),
    dict(lower=(0.0,), upper=(1.0,), shape=(8,), periodic=(True,), kind="interval"),
    dict(lower=(0.0,), upper=(1.0,), shape=(8,), periodic=(False,), kind="box"),
    dict(lower=(0.0,), upper=(1.0,), shape=(8,), periodic=(False,), kind="sphere"),
])
def test_kind_must_match_the_geometry(kwargs):
    """Domain(kind="circle") on [0, 1] gave a teacher density of mass 2.47."""
    with pytest.raises(ValueError, match="kind|needs") as err:
        Domain(**kwargs)
    _one_line(err)
    spec = {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()}
    with pytest.raises(ValueError, match="kind|needs"):
        domain_from_dict(spec)


def test_kind_is_inferred_when_not_given():
    assert Domain((0.0,), (1.0,), (8,), (False,)).kind == "interval"
    assert Domain((0.0, 0.0), (1.0, 1.0), (8, 8), (True, True)).kind == "torus"


def test_evaluate_accepts_only_a_scalar_or_the_grid_shape():
    """A 2-D callable returning shape (8,) was broadcast along the wrong axis."""
    box = pf.Box((0, 1), (0, 1), (10, 8))
    with pytest.raises(ValueError, match=r"rho0 returned shape \(8,\).*\(10, 8\)") as err:
        box.evaluate(lambda x, y: np.ones(8), "rho0")
    _one_line(err)
    with pytest.raises(ValueError, match=r"rho0 has shape \(10, 1\)"):
        box.evaluate(np.ones((10, 1)), "rho0")
    assert box.evaluate(lambda x, y: 2.0).shape == (10, 8)


@pytest.mark.parametrize("field", [lambda x: np.exp(1j * x), np.ones(8, dtype=complex), 1 + 0j])
def test_evaluate_refuses_complex_values(field):
    """Complex values used to lose their imaginary part with only a ComplexWarning."""
    with pytest.raises(ValueError, match="weight is complex"):
        pf.Circle(8).evaluate(field, "weight")


@pytest.mark.parametrize("field", ["abc", [[1, 2], [3]], np.array(["a"] * 8)])
def test_evaluate_refuses_non_numbers(field):
    with pytest.raises(ValueError, match="weight") as err:
        pf.Circle(8).evaluate(field, "weight")
    _one_line(err)


# ---- metrics --------------------------------------------------------------------------------

from pdeflow.metrics import chi2, grid_points, mmd, smooth_particles, wasserstein_circle, wasserstein_interval  # noqa: E402

DOMAINS = {"circle": pf.Circle(16), "interval": pf.Interval(0, 1, 16), "torus": pf.Torus((6, 6)),
           "box": pf.Box((0, 1), (0, 1), (6, 6))}


def _points(domain, n=5, seed=0):
    rng = np.random.default_rng(seed)
    pts = np.column_stack([rng.uniform(lo, hi, n) for lo, hi in zip(domain.lower, domain.upper)])
    return pts[:, 0] if domain.ndim == 1 else pts


@pytest.mark.parametrize("name", sorted(DOMAINS))
@pytest.mark.parametrize("bad", ["nan", "inf"])
def test_mmd_refuses_non_finite_points_and_weights(name, bad):
    d = DOMAINS[name]
    x, y = _points(d), _points(d, seed=1)
    x_bad = x.copy()
    x_bad[2] = float(bad)
    with pytest.raises(ValueError, match=r"^x must be finite") as err:
        mmd(x_bad, y, d)
    _one_line(err)
    w = np.ones(len(y))
    w[1] = float(bad)
    with pytest.raises(ValueError, match=r"^y_weights must be finite"):
        mmd(x, y, d, y_weights=w)


@pytest.mark.parametrize("weights, match", [
    ([1.0, -1.0, 1.0, 1.0, 1.0], "non-negative"),
    ([0.0] * 5, "all zero"),
    ([1.0, 1.0], "shape"),
    ([1 + 1j] * 5, "real"),
])
def test_mmd_refuses_bad_weights(weights, match):
    d = DOMAINS["circle"]
    with pytest.raises(ValueError, match=f"x_weights.*{match}"):
        mmd(_points(d), _points(d, seed=1), d, x_weights=weights)


@pytest.mark.parametrize("name", sorted(DOMAINS))
def test_mmd_with_huge_finite_weights_is_the_normalised_value(name):
    """Weights of 1e308 summed to inf and normalised to zeros: mmd returned 0.0."""
    d = DOMAINS[name]
    x, y = _points(d), _points(d, seed=1)
    expected = mmd(x, y, d)
    assert expected > 0
    huge = np.full(len(x), 1e308)
    assert mmd(x, y, d, x_weights=huge, y_weights=huge) == pytest.approx(expected, rel=1e-12)


def test_mmd_refuses_empty_and_misshaped_points():
    d = DOMAINS["torus"]
    with pytest.raises(ValueError, match=r"x must have shape \(n, 2\)"):
        mmd(np.zeros((0, 2)), _points(d), d)
    with pytest.raises(ValueError, match=r"y must have shape \(n, 2\)"):
        mmd(_points(d), np.zeros((4, 3)), d)


@pytest.mark.parametrize("w", [wasserstein_circle, wasserstein_interval])
def test_wasserstein_refuses_bad_points_weights_and_orders(w):
    x, y = np.array([0.1, 0.5, 0.7]), np.array([0.2, 0.3])
    with pytest.raises(ValueError, match="^x must be finite"):
        w(np.array([0.1, np.nan, 0.7]), y)
    with pytest.raises(ValueError, match="^y must be finite"):
        w(x, np.array([np.inf, 0.3]))
    with pytest.raises(ValueError, match="^x_weights must be finite"):
        w(x, y, x_weights=[1.0, np.nan, 1.0])
    with pytest.raises(ValueError, match="^y_weights must be non-negative"):
        w(x, y, y_weights=[1.0, -0.5])
    with pytest.raises(ValueError, match="^y_weights are all zero"):
        w(x, y, y_weights=[0.0, 0.0])
    with pytest.raises(ValueError, match="^x must have shape"):
        w(np.array([]), y)
    for p in (0, -1, np.nan, True):   # p = 0 was a ZeroDivisionError
        with pytest.raises(ValueError, match="^p must be"):
            w(x, y, p=p)


def test_wasserstein_orders_each_function_supports():
    x, y = np.array([0.1, 0.5, 0.7]), np.array([0.2, 0.3])
    with pytest.raises(ValueError, match=r"p must be one of \[1, 2\], got 3"):
        wasserstein_circle(x, y, p=3)
    # the interval takes any p >= 1: W_p of two Diracs is their distance
    assert wasserstein_interval([0.0], [0.25], p=3.5) == pytest.approx(0.25)
    assert wasserstein_circle(x, y, p=1.0) == wasserstein_circle(x, y, p=1)


@pytest.mark.parametrize("target, density, match", [
    (np.full(8, np.nan), np.ones(8), "^target must be finite"),
    (-np.ones(8), np.ones(8), "^target must be non-negative"),
    (np.ones(8), np.full(8, np.nan), "^density must be finite"),
    (np.ones(8), -np.ones(8), "^density must be strictly positive"),
])
def test_chi2_refuses_nan_and_negative_densities(target, density, match):
    """A NaN density passed min() <= 0 and chi2 returned nan."""
    with pytest.raises(ValueError, match=match):
        chi2(target, density, pf.Circle(8))


@pytest.mark.parametrize("kwargs, match", [
    (dict(sigma=0.0), "^sigma must be a positive"),
    (dict(sigma=-0.1), "^sigma must be a positive"),
    (dict(sigma=np.nan), "^sigma must be a positive"),
    (dict(points=np.array([0.1, np.nan])), "^points must be finite"),
    (dict(points=np.array([])), "^points must have shape"),
    (dict(weights=[1.0, -1.0]), "^weights must be non-negative"),
    (dict(weights=[0.0, 0.0]), "^weights are all zero"),
    (dict(weights=[1.0, np.inf]), "^weights must be finite"),
])
def test_smooth_particles_refuses_bad_input(kwargs, match):
    args = dict(points=np.array([0.1, 0.2]), domain=pf.Circle(16), sigma=0.04, weights=None)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        smooth_particles(**args)


@pytest.mark.parametrize("density, match", [
    (np.full(8, np.nan), "^density must be finite"),
    (-np.ones(8), "^density must be non-negative"),
    (np.ones(7), "^density has shape"),
])
def test_grid_points_refuses_bad_densities(density, match):
    with pytest.raises(ValueError, match=match):
        grid_points(pf.Circle(8), density)


# ---- teacher and teacher-student data ---------------------------------------------------------

from pdeflow.particles import make_teacher_student  # noqa: E402


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_data=0), "^n_data must be an integer >= 1"),
    (dict(n_teacher=0), "^n_teacher must be an integer >= 1"),     # Y was 0/0 = NaN
    (dict(n_data=10.5), "^n_data must be an integer"),
    (dict(n_teacher=7.9), "^n_teacher must be an integer"),
    (dict(n_data=True), "^n_data must be an integer"),
    (dict(gamma=-1.0), "^gamma must be"),
    (dict(gamma=np.nan), "^gamma must be"),
    (dict(gamma="big"), "^gamma must be a real number"),
])
def test_make_teacher_student_refuses_bad_counts_and_gamma(kwargs, match):
    args = dict(domain=pf.Circle(8), gamma=10.0, n_data=10, n_teacher=10, rng=0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match) as err:
        make_teacher_student(**args)
    _one_line(err)


def test_make_teacher_student_keeps_gamma_inf_and_integral_floats():
    problem = make_teacher_student(pf.Torus((8, 8)), np.inf, n_data=10.0, n_teacher=4, rng=0)
    assert problem.x.shape == (10, 2) and np.all(np.isfinite(problem.y))


@pytest.mark.parametrize("call, match", [
    (lambda: pf.sample_teacher(pf.Circle(8), 10.0, 2.5), "^size must be an integer"),
    (lambda: pf.sample_teacher(pf.Circle(8), 10.0, -1), "^size must be an integer >= 0"),
    (lambda: pf.sample_teacher(pf.Circle(8), "x", 3), "^gamma must be a real number"),
    (lambda: pf.sample_teacher(pf.Circle(8), -2.0, 3), "^gamma must be"),
    (lambda: pf.teacher_density(pf.Circle(8), None), "^gamma must be a real number"),
    (lambda: pf.teacher_density(pf.Circle(8), True), "^gamma must be a real number"),
])
def test_teacher_refuses_bad_gamma_and_sizes(call, match):
    with pytest.raises(ValueError, match=match) as err:
        call()
    _one_line(err)
