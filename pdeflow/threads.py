"""Threads of the numerical libraries: one for small work, all for large work (docs: particles guide).

A parallel BLAS call or numba region waits, at its end, for every thread it started.  When
another process holds a core, the thread that shares it may be descheduled for a whole
time slice (milliseconds), so a loop of sub-millisecond products on two threads can run
tens of times slower than on one, while one large call on two threads still gains.  Hence:

* loops of small products run under :func:`small_work`: BLAS on one thread (through
  threadpoolctl), and their numba kernels are compiled without ``parallel``;
* a large call inside such a loop (the Gram matrix of a preconditioner refresh) runs under
  :func:`large_work`, which gives BLAS back the thread count it had;
* processes that run one job per core (``run_many``'s workers) start with every library on
  one thread, through the environment (:mod:`pdeflow.experiments`), so that nothing nests
  threads inside them.

numba's large kernels use numba's own thread count (``NUMBA_NUM_THREADS`` or
:func:`numba.set_num_threads`); their blocks are fixed, so the result does not depend on it.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

_controller = None
_default_threads: int | None = None


def _blas():
    """The threadpoolctl controller of the BLAS libraries loaded (created once, after scipy.linalg)."""
    global _controller, _default_threads
    if _controller is None:
        import scipy.linalg  # noqa: F401  (its own OpenBLAS must be loaded to be controlled)
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController().select(user_api="blas")
        counts = [lib.num_threads for lib in _controller.lib_controllers]
        _default_threads = max(counts) if counts else 1
    return _controller


@contextmanager
def small_work() -> Iterator[None]:
    """BLAS on one thread inside the block (restored on exit)."""
    with _blas().limit(limits=1):
        yield


@contextmanager
def large_work() -> Iterator[None]:
    """BLAS on the thread count it had when pdeflow first limited it, inside the block."""
    controller = _blas()
    with controller.limit(limits=_default_threads):
        yield
