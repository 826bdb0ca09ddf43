import numpy as np
import pytest

import pdeflow as pf


def test_circle_grid():
    d = pf.Circle(8)
    assert d.shape == (8,) and d.periodic == (True,)
    np.testing.assert_allclose(d.axes[0], (np.arange(8) + 0.5) * 2 * np.pi / 8)
    assert d.cell_volume == pytest.approx(2 * np.pi / 8)
    assert d.integrate(np.ones(8)) == pytest.approx(2 * np.pi, rel=1e-15)


def test_torus_is_centred_like_the_thesis():
    d = pf.Torus((4, 6), 4.0)
    assert d.shape == (4, 6) and d.periodic == (True, True)
    assert d.axes[0][0] == pytest.approx(-2 + 0.5) and d.axes[1][-1] == pytest.approx(2 - 1 / 3)
    assert d.cell_volume == pytest.approx(1.0 * 4 / 6)
    assert pf.Torus(10, 1.0, origin=0.0).lower == (0.0,)


def test_interval_and_box():
    i = pf.Interval(-1, 3, 4)
    np.testing.assert_allclose(i.axes[0], [-0.5, 0.5, 1.5, 2.5])
    assert i.periodic == (False,)
    b = pf.Box((0, 1), (0, 2), (5, 4))
    assert b.cell_volume == pytest.approx(0.2 * 0.5)
    assert b.integrate(np.ones((5, 4))) == pytest.approx(2.0)
    assert b.integrate(np.ones((3, 5, 4))).shape == (3,)


def test_evaluate_callable_and_shape_checks():
    d = pf.Box((0, 1), (0, 2), (5, 4))
    x, y = d.mesh()
    np.testing.assert_array_equal(d.evaluate(lambda x, y: x + y), x + y)
    assert d.evaluate(2.0).shape == (5, 4)
    with pytest.raises(ValueError, match="shape"):
        d.evaluate(np.ones((4, 5)))
    with pytest.raises(ValueError, match="grid shape"):
        d.integrate(np.ones(7))


@pytest.mark.parametrize("bad", [lambda: pf.Circle(2), lambda: pf.Interval(1, 1, 10),
                                 lambda: pf.Box((0, 1), (0, 1), (4,)), lambda: pf.Interval(0, np.inf, 5)])
def test_bad_domains(bad):
    with pytest.raises(ValueError):
        bad()


def test_wrap_periodic_and_clip():
    np.testing.assert_allclose(pf.Circle(8).wrap(np.array([-0.1, 7.0])), [2 * np.pi - 0.1, 7.0 - 2 * np.pi])
    t = pf.Torus((4, 4), 4.0)
    np.testing.assert_allclose(t.wrap(np.array([[2.5, -2.5]])), [[-1.5, 1.5]])
    b = pf.Box((0, 1), (0, 1), (4, 4))
    np.testing.assert_allclose(b.wrap(np.array([[1.5, -0.5]])), [[1.0, 0.0]])


def test_describe_round_trip():
    from pdeflow.domains import domain_from_dict
    for d in [pf.Circle(8), pf.Torus((4, 6)), pf.Box((0, 1), (0, 2), (5, 4))]:
        assert domain_from_dict(d.describe()) == d
