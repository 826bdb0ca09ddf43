"""Threads of the numerical libraries: BLAS on one thread in loops of small work (docs: theory/particles).

A parallel BLAS call or numba region waits, at its end, for every thread it started, and an
idle OpenBLAS or OpenMP thread spins for a while before it sleeps.  On a machine where
another process holds a core, the thread that shares it may be descheduled for a whole time
slice (milliseconds), and spinning threads take the core from the ones with work, so a loop of
sub-millisecond products on two threads can run tens of times slower than on one.  Hence:

* loops of small products run under :func:`small_work`: BLAS on one thread (threadpoolctl);
  even the largest BLAS call of a VarPro step (the Gram matrix of a preconditioner refresh,
  tens of milliseconds) stays on one thread, since OpenBLAS's threads keep spinning after it;
* the large numba passes (the fill of the Laplace feature matrix, the residual and gradient
  pass) are parallel, on numba's thread count (``NUMBA_NUM_THREADS`` or
  :func:`numba.set_num_threads`), with OpenMP's waiting threads asleep rather than spinning
  (``OMP_WAIT_POLICY=PASSIVE``, set by ``import pdeflow`` unless already set); their blocks are
  fixed, so the result does not depend on the thread count;
* processes that run one job per core (``run_many``'s workers) start with every library on
  one thread, through the environment (:mod:`pdeflow.experiments`), so that nothing nests
  threads inside them.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

_controller = None


def _blas():
    """The threadpoolctl controller of the BLAS libraries loaded (created once, after scipy.linalg)."""
    global _controller
    if _controller is None:
        import scipy.linalg  # noqa: F401  (its own OpenBLAS must be loaded to be controlled)
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController().select(user_api="blas")
    return _controller


@contextmanager
def small_work() -> Iterator[None]:
    """BLAS on one thread inside the block (the caller's count restored on exit)."""
    with _blas().limit(limits=1):
        yield
