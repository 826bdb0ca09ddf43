"""The vectorisable exp, sin and cos of pdeflow.vecmath against numpy (the twin), ulp by ulp."""

import numpy as np
import pytest

from pdeflow.vecmath import (EXP_MODERATE, TRIG_RANGE, exp_into, sincos_into, vexp, vexp_moderate, vsincos)


def _ulps(got, ref):
    """Error in units of the last place of the reference (subnormal references: of the smallest normal)."""
    return np.abs(got - ref) / np.spacing(np.maximum(np.abs(ref), np.finfo(float).tiny))


def test_exp_is_within_two_ulp_and_handles_the_ends_of_the_range():
    rng = np.random.default_rng(0)
    u = np.concatenate([rng.uniform(-8, 0, 20000), rng.uniform(-745, 709.78, 20000),
                        np.linspace(-1e-12, 1e-12, 101), [0.0, -0.0, 709.78, -708.4]])
    out = np.empty_like(u)
    exp_into(u, out)
    assert _ulps(out, np.exp(u)).max() <= 2
    # overflow to inf, underflow to 0 (through the subnormals), NaN kept, as np.exp
    ends = np.array([709.8, 1e4, np.inf, -746.0, -1e4, -np.inf, np.nan, -740.0])
    got = np.empty_like(ends)
    exp_into(ends, got)
    with np.errstate(over="ignore"):
        ref = np.exp(ends)
    np.testing.assert_array_equal(got[:7], ref[:7])
    assert 0 < ref[7] < np.finfo(float).tiny and abs(got[7] - ref[7]) <= 2 * 5e-324   # subnormal: 2 units of 5e-324
    assert vexp(1.0) == pytest.approx(np.e, rel=2.3e-16)


def test_moderate_exp_is_within_two_ulp_on_its_range():
    u = np.linspace(-EXP_MODERATE, EXP_MODERATE, 200001)
    got = np.array([vexp_moderate(v) for v in u[::997]])
    assert _ulps(got, np.exp(u[::997])).max() <= 2
    assert np.isnan(vexp_moderate(np.nan))


@pytest.mark.parametrize("scale", [np.pi / 4, 10.0, 1e3, TRIG_RANGE])
def test_sincos_is_within_two_ulp_of_one_and_fall_back_beyond_its_range(scale):
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.uniform(-scale, scale, 20000), np.arange(-8, 9) * np.pi / 2])
    s, c = np.empty_like(x), np.empty_like(x)
    sincos_into(x, s, c)
    # absolute error of at most 2 ulp of 1 (near a zero of sin the relative error may be larger,
    # as it is for the C library's own result there)
    assert np.abs(s - np.sin(x)).max() <= 2.3e-16 and np.abs(c - np.cos(x)).max() <= 2.3e-16
    assert _ulps(s[np.abs(np.sin(x)) > 0.1], np.sin(x)[np.abs(np.sin(x)) > 0.1]).max() <= 2
    sx, cx = vsincos(0.5)
    assert sx == pytest.approx(np.sin(0.5), rel=3e-16) and cx == pytest.approx(np.cos(0.5), rel=3e-16)


def test_sincos_beyond_its_range_is_the_c_library_result():
    x = np.array([0.3, 2 * TRIG_RANGE, -1e12])
    s, c = np.empty_like(x), np.empty_like(x)
    sincos_into(x, s, c)
    np.testing.assert_array_equal(s, np.sin(x))
    np.testing.assert_array_equal(c, np.cos(x))
    y = np.array([np.nan, 1.0])
    sincos_into(y, s[:2], c[:2])
    assert np.isnan(s[0]) and np.isnan(c[0]) and s[1] == pytest.approx(np.sin(1.0), rel=3e-16)
