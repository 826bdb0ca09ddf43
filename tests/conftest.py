import os

if os.environ.get("PYTEST_XDIST_WORKER"):
    # One xdist worker per core already fills the machine; BLAS and numba threads on top of
    # that oversubscribe it, and OpenBLAS's spinning waits then cost more than they save.
    # Set before numpy and numba are imported, which read them once.
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import numpy as np
import pytest

import pdeflow as pf


@pytest.fixture(params=["circle", "interval", "torus2d", "box"])
def any_domain(request):
    return {
        "circle": pf.Circle(24),
        "interval": pf.Interval(-1.0, 2.0, 17),
        "torus2d": pf.Torus((8, 10), 4.0),
        "box": pf.Box((0.0, 1.0), (-1.0, 1.0), (9, 7)),
    }[request.param]


def smooth_positive(domain, seed=0):
    """A smooth, strictly positive, non-uniform density of mass 1 on ``domain``."""
    rng = np.random.default_rng(seed)
    field = np.ones(domain.shape)
    for axis, length in zip(domain.mesh(), domain.lengths):
        field = field + 0.4 * np.cos(2 * np.pi * axis / length + rng.uniform(0, 2 * np.pi))
    field = np.clip(field, 0.2, None)
    return field / domain.integrate(field)
