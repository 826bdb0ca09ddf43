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
