"""Hardening round 2, grid runs and domains: bad input refused in one line naming it.

Each test here failed before its fix (silently accepted input, wrong numbers, numpy or
TypeError messages, or an IntegrationError that did not say what to change).
"""

import numpy as np
import pytest

import pdeflow as pf


def _one_line(err: pytest.ExceptionInfo) -> str:
    message = str(err.value)
    assert "\n" not in message
    return message


D = pf.Circle(16)
W = pf.teacher_density(D, 10.0)
T3 = [0.0, 0.05, 0.1]


def _model():
    return pf.UltraFastDiffusion(D, W, pf.UFDParams(2.0, 0.5))


def _uniform():
    return np.full(16, D.integrate(W) / D.volume)


# ---- counts and scalars -----------------------------------------------------------------------

def test_counts_beyond_2_53_are_not_exact():
    from pdeflow.scalars import as_count
    with pytest.raises(ValueError, match="steps must be an exact integer") as err:
        as_count(1e300, "steps")
    _one_line(err)
    assert as_count(2.0**53, "n") == 2**53 and as_count(10**20, "n") == 10**20   # ints are exact


@pytest.mark.parametrize("name, value", [
    ("rtol", "1e-6"), ("rtol", True), ("rtol", 1e-6j), ("rtol", 2.0), ("rtol", 1.0), ("rtol", 1e300),
    ("rtol", 1e-300), ("atol", "1e-9"), ("atol", True), ("atol", [1e-9]), ("atol", 1e300), ("atol", np.inf),
])
def test_tolerances_are_real_and_in_range(name, value):
    """rtol = '1e-6', True or 2 and atol = 1e300 ran; rtol = 1e-300 failed inside LSODA."""
    with pytest.raises(ValueError) as err:
        pf.solve_ufd(D, W, r=2, coef=0.5, t_eval=T3, **{name: value})
    assert _one_line(err).startswith(name)
    with pytest.raises(ValueError) as err:
        pf.solve(_model(), _uniform(), T3, **{name: value})
    assert _one_line(err).startswith(name)


@pytest.mark.parametrize("name, value", [("r", "2"), ("r", 2 + 0j), ("r", None), ("r", [2.0]),
                                         ("coef", "0.5"), ("coef", True), ("coef", 0.5j), ("coef", None)])
def test_ufd_parameters_are_real_numbers(name, value):
    """r = '2' and coef = True ran as 2 and 1; complex/None/list gave TypeErrors."""
    args = dict(r=2, coef=0.5)
    args[name] = value
    with pytest.raises(ValueError) as err:
        pf.solve_ufd(D, W, t_eval=T3, **args)
    assert _one_line(err).startswith(name)


def test_tolerances_at_the_bounds_are_accepted():
    traj = pf.solve_ufd(D, W, r=2, coef=0.5, t_eval=T3, rtol=1e-13)
    assert traj.stats["rtol"] == 1e-13


# ---- solve(): the model and rho0 ---------------------------------------------------------------

@pytest.mark.parametrize("rho0, what", [
    (np.float64(0.16), "shape"), (np.full((16, 1), 0.16), "shape"), (np.full((4, 4), 0.16), "shape"),
    (np.ones(15), "shape"), ("x", "real numbers"), (np.ones(16, bool), "real numbers"),
    (lambda x: x, "callable"),
])
def test_solve_checks_rho0_itself(rho0, what):
    """solve() broadcast a scalar, (16, 1) and (4, 4) arrays; strings gave numpy messages."""
    with pytest.raises(ValueError, match=what) as err:
        pf.solve(_model(), rho0, T3)
    assert "rho0" in _one_line(err)


@pytest.mark.parametrize("cell, value, what", [(2, np.nan, "not finite"), (2, -0.1, "non-negative"),
                                               (2, 0.0, "positive")])
def test_solve_refuses_bad_values_in_rho0(cell, value, what):
    """A NaN failed in scipy, a negative cell became an IntegrationError at t > 0."""
    rho0 = _uniform()
    rho0[cell] = value
    with pytest.raises(ValueError, match=what) as err:
        pf.solve(_model(), rho0, T3)
    assert "rho0" in _one_line(err)


def test_solve_checks_the_ufd_mass():
    """rho0 with twice the weight's mass ran through solve() (only solve_ufd checked it)."""
    with pytest.raises(ValueError, match="mass") as err:
        pf.solve(_model(), 2 * _uniform(), T3)
    _one_line(err)


def test_a_model_may_extend_check_initial():
    class Capped(pf.UltraFastDiffusion):
        def check_initial(self, rho0):
            rho0 = super().check_initial(rho0)
            if rho0.max() > 1:
                raise ValueError("rho0 too large")
            return rho0
    traj = pf.solve(Capped(D, W, pf.UFDParams(2.0, 0.5)), _uniform(), T3)
    assert traj.t.size == 3


@pytest.mark.parametrize("model", [None, "ufd", object()])
def test_solve_needs_a_grid_model(model):
    with pytest.raises(ValueError, match="model must be a pdeflow GridModel") as err:
        pf.solve(model, _uniform(), T3)
    _one_line(err)


@pytest.mark.parametrize("domain", ["circle", None, 16])
def test_solve_ufd_needs_a_domain(domain):
    """A string domain gave AttributeError: 'str' object has no attribute 'evaluate'."""
    with pytest.raises(ValueError, match="domain must be a pdeflow Domain") as err:
        pf.solve_ufd(domain, W, t_eval=T3)
    _one_line(err)


def test_a_weight_near_the_float_range_is_refused():
    """weight·1e300 made LSODA stall at t = 0 with a message naming nothing."""
    with pytest.raises(ValueError, match="overflows.*weight") as err:
        pf.solve_ufd(D, W * 1e300, r=2, coef=0.5, t_eval=T3)
    _one_line(err)


# ---- runs that cannot advance --------------------------------------------------------------

def test_no_progress_names_the_parameters_and_the_span(tmp_path):
    """'LSODA made no progress at t = 0 (step size 0)' said nothing the user could change."""
    with pytest.raises(pf.IntegrationError) as err:
        pf.solve_ufd(D, W, r=2, coef=1e300, t_eval=[0, 1.0], store=tmp_path / "run.h5")
    message = _one_line(err)
    assert "no progress at t = 0" in message
    assert "r = 2" in message and "coef = 1e+300" in message and "t_eval [0, 1]" in message
    assert pf.load_trajectory(tmp_path / "run.h5").status.startswith("failed: ")


def test_a_span_below_resolution_returns_the_start():
    """t_eval = [0, 1e-300] is a valid run (nothing can change in it); LSODA used to stall."""
    rho0 = _uniform() * (1 + 0.3 * np.cos(D.axes[0]))
    traj = pf.solve_ufd(D, W, rho0, r=2, coef=0.5, t_eval=[0.0, 1e-300])
    assert traj.t.tolist() == [0.0, 1e-300]
    np.testing.assert_array_equal(traj.rho[1], rho0)
    # a span that does change the state is still integrated
    moved = pf.solve_ufd(D, W, rho0, r=2, coef=0.5, t_eval=[0.0, 1e-3])
    assert not np.array_equal(moved.rho[1], rho0)


# ---- domains ------------------------------------------------------------------------------------

@pytest.mark.parametrize("build, match", [
    (lambda: pf.Circle(1e300), "n must be an exact integer"),
    (lambda: pf.Circle(10**12), "cells, more than"),
    (lambda: pf.Torus((2**14, 2**14)), "cells, more than"),
    (lambda: pf.Interval(-1e308, 1e308, 8), "infinite length or volume"),
    (lambda: pf.Torus((4, 4), length=1e300), "infinite length or volume"),
    (lambda: pf.Box((0, 1e-200), (0, 1e-200), (4, 4)), "zero width or volume"),
    (lambda: pf.Torus((4, 4), origin=np.nan), "origin must be a finite"),
    (lambda: pf.Circle(16).wrap([np.nan, 1.0]), "must be finite"),
    (lambda: pf.Torus((4, 4)).wrap([[np.inf, 1.0]]), "must be finite"),
])
def test_absurd_domains_are_refused_at_construction(build, match):
    """These gave inf spacings or volumes, NaN positions, or a MemoryError at the first array."""
    with pytest.raises(ValueError, match=match) as err:
        build()
    _one_line(err)


@pytest.mark.parametrize("t_eval", [[False, True], ["0", "0.1"], np.array(["0", "0.1"])])
def test_times_are_numbers(t_eval):
    """[False, True] ran as [0, 1] and ['0', '0.1'] as numbers."""
    with pytest.raises(ValueError, match="t_eval must be an array of numbers") as err:
        pf.solve_ufd(D, W, t_eval=t_eval)
    _one_line(err)


def test_a_rhs_that_turns_nan_later_still_fails(tmp_path):
    """The span-below-resolution shortcut must not hide a run that breaks later: a model at
    rest until t = 0.05 whose rhs is NaN after it fails, outputs so far kept."""
    class Breaks(pf.GridModel):
        name, jacobian, default_method = "breaks", "none", "RK45"

        def __init__(self, domain):
            self.domain = domain

        def rhs(self, t, y):
            return np.full_like(y, np.nan) if t > 0.05 else np.zeros_like(y)

        def diagnostics(self, rho):
            return {"mass": self.mass(rho)}

    with pytest.raises(pf.IntegrationError, match="t = ") as err:
        pf.solve(Breaks(pf.Circle(8)), np.ones(8), np.linspace(0, 1, 21), store=tmp_path / "b.h5")
    _one_line(err)
    back = pf.load_trajectory(tmp_path / "b.h5")
    assert back.status.startswith("failed") and 1 <= back.t.size < 21


def test_the_mass_error_names_rho0():
    with pytest.raises(ValueError, match="^rho0 .* has mass"):
        pf.solve(_model(), 2 * _uniform(), T3)
