"""Threads of the numerical libraries: BLAS on one thread in loops of small work (docs: theory/particles).

A parallel BLAS call or numba region waits, at its end, for every thread it started, and an
idle OpenBLAS or OpenMP thread spins for a while before it sleeps.  On a machine where
another process holds a core, the thread that shares it may be descheduled for a whole time
slice (milliseconds), and spinning threads take the core from the ones with work, so a loop of
sub-millisecond products on two threads can run tens of times slower than on one.  Hence:

* loops of small products run under ``blas_threads_limited(1)``: BLAS on one thread
  (threadpoolctl; the integrators do the same for right-hand sides without BLAS work);
  even the largest BLAS work of a VarPro step (the Gram matrix of a preconditioner refresh,
  tens of milliseconds) stays on single-threaded calls, since OpenBLAS's threads keep
  spinning after one; the Gram matrix runs as two such calls side by side instead;
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

import contextlib

_controller = None


def _blas():
    """The threadpoolctl controller of the BLAS libraries loaded (found once per process)."""
    global _controller
    if _controller is None:
        import scipy.linalg  # noqa: F401  (its own OpenBLAS must be loaded to be controlled)
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController().select(user_api="blas")
    return _controller


def blas_threads_limited(limit: int | None):
    """Context in which BLAS uses at most ``limit`` threads (``None``: unchanged), restored on exit.

    Measured on a 2-core machine whose cores are busy: RK45 on a 10⁴-entry state whose
    right-hand side does no BLAS work, 0.78 s with 2 threads against 0.11 s with one; VarPro on
    the circle (M = 1024, N = 4096, 200 steps), 8–13 it/s with BLAS on 2 threads, 160–180 it/s
    with the steps held to one.
    """
    if limit is None:
        return contextlib.nullcontext()
    return _blas().limit(limits=int(limit))
