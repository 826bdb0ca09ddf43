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
  spinning after one;
* the large numba passes (the fill of the Laplace feature matrix, the residual and gradient
  pass) and the conjugate-gradient products (about half a millisecond each) are parallel over
  fixed blocks of rows whose sums are added in a fixed order, so one thread and numba's count
  (``NUMBA_NUM_THREADS`` or :func:`numba.set_num_threads`) give the same bits; OpenMP's waiting
  threads sleep rather than spin (``OMP_WAIT_POLICY=PASSIVE``, set by ``import pdeflow``
  unless already set).  A :class:`ThreadCountChooser` per kind of work (:func:`chooser_for`)
  runs each on whichever count has recently been faster, measured as the loop goes: on an
  idle machine two threads halve a pass or a product, beside a busy core a parallel region
  waits for the thread that shares it and one thread is as fast; neither choice changes a
  result, only how long it takes;
* the two halves of the Gram matrix of a preconditioner refresh (tens of milliseconds) run
  side by side, the second on :func:`side_thread`, or one after the other, chosen the same
  way: beside a busy core the side thread's half waits for that core;
* processes that run one job per core (``run_many``'s workers) start with every library on
  one thread, through the environment (:mod:`pdeflow.experiments`), so that nothing nests
  threads inside them.
"""

from __future__ import annotations

import contextlib
import math
import statistics
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Hashable

import numba as nb
import numpy as np

from .scalars import as_count, as_real

_controller = None
_side: ThreadPoolExecutor | None = None
_choosers: dict = {}


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


def side_thread() -> ThreadPoolExecutor:
    """One worker thread kept for the process, for work split in two halves (e.g. two SYRKs).

    Started once: a pool created per call costs a thread start and join each time.
    """
    global _side
    if _side is None:
        _side = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdeflow-side")
    return _side


class ThreadCountChooser:
    """Run a numba kernel on one thread or on numba's thread count, whichever has been faster.

    For kernels whose result does not depend on the thread count (fixed blocks summed in a
    fixed order): the choice changes only the time.  Each count keeps the wall times of its
    last ``window`` calls; the one with the smaller median runs, and now and then a call runs
    the other (a probe), so that a change of load (another process taking or freeing a core)
    is noticed.  Probes come every ``probe_every`` calls while the two counts are close; while
    a probe finds the other count still more than 1.5 times slower (two threads beside a busy
    core: 3–10 times), the gap to the next probe doubles, up to ``max_interval`` calls and up
    to ``max_gap`` seconds of the preferred count's work.  A probe r times slower than a call
    of t seconds then costs at most (r − 1)·t/``max_gap`` of the time, a fraction of a percent
    for kernels of a few milliseconds or less (the old fixed gap of 4·``probe_every`` calls
    cost (r − 1)/64: 2–3 % of a torus VarPro run beside a busy core).  A core freed meanwhile
    is noticed once enough probes have come back fast to move the median of the last
    ``window`` calls, i.e. after about ⌈``window``/2⌉·``max_gap`` seconds at most.  When the
    preferred count changes between probes (it slowed down itself), probes are
    ``probe_every`` apart again; when a probe changes it, the gap goes on from where it was.  A count
    not yet timed is tried first (numba's own count before one); the first call on each count
    is not timed (threads start, first-touch page faults of fresh buffers), lest one slow start
    exclude a count for many calls.  With numba on one thread
    (:func:`numba.set_num_threads`, ``NUMBA_NUM_THREADS=1``) the kernel simply runs.

    Parameters
    ----------
    probe_every : int
        Calls between two probes while the counts are close (the shortest gap).
    window : int
        Calls remembered per count.
    clock : callable
        Seconds (monotonic); :func:`time.perf_counter` (tests pass their own).
    max_interval : int or None
        The longest gap between two probes, in calls; ``None``: ``64·probe_every``.
    max_gap : float
        The longest gap between two probes, in seconds of calls at the preferred count's
        median time (never fewer than ``probe_every`` calls).
    """

    def __init__(self, probe_every: int = 16, window: int = 5, clock: Callable[[], float] = time.perf_counter,
                 max_interval: int | None = None, max_gap: float = 2.0):
        probe_every = as_count(probe_every, "probe_every", minimum=2)
        window = as_count(window, "window", minimum=1)
        if max_interval is None:
            max_interval = 64 * probe_every
        max_interval = as_count(max_interval, "max_interval (at least probe_every)", minimum=probe_every)
        max_gap = as_real(max_gap, "max_gap")
        if not (math.isfinite(max_gap) and max_gap > 0):
            raise ValueError(f"max_gap must be a positive finite number of seconds, got {max_gap!r}")
        if not callable(clock):
            raise ValueError(f"clock must be callable, got {type(clock).__name__}")
        self.probe_every, self.window, self.clock = probe_every, window, clock
        self.max_interval, self.max_gap = max_interval, max_gap
        self._times: dict[int, deque] = {}
        self._medians: dict[int, float] = {}
        self._started: set[int] = set()
        self._calls = 0
        self._interval = self.probe_every        # calls from one probe to the next
        self._next_probe = self.probe_every      # the (1-based) call that probes next

    def _median(self, count: int) -> float:
        return self._medians.get(count, -np.inf)

    def _ranked(self) -> tuple[int, int]:
        """(preferred, other) thread counts: the smaller median first (an untimed count: −∞)."""
        preferred, other = sorted((nb.get_num_threads(), 1), key=self._median)
        return preferred, other

    def choice(self) -> int:
        """The thread count the next call will use."""
        if nb.get_num_threads() == 1:
            return 1
        preferred, other = self._ranked()
        return other if self._calls + 1 >= self._next_probe else preferred

    def _after_probe(self) -> None:
        """Schedule the next probe: twice as far while the other count stays clearly slower."""
        preferred, other = self._ranked()
        if self._median(other) > 1.5 * self._median(preferred) > 0:
            # max_gap in calls at the preferred count's pace (compared before int(): no overflow)
            pace = self._median(preferred)
            longest = (self.max_interval if self.max_gap >= self.max_interval * pace
                       else max(self.probe_every, int(self.max_gap / pace)))
            self._interval = min(2 * self._interval, longest)
        else:
            self._interval = self.probe_every
        self._next_probe = self._calls + self._interval

    def __call__(self, kernel: Callable, *args):
        """``kernel(*args)`` on the chosen thread count (numba's setting restored after)."""
        preferred, other = self._ranked()
        count = self.choice()
        probe = count != preferred
        self._calls += 1
        before = nb.get_num_threads()
        if count == before == 1:
            return kernel(*args)
        nb.set_num_threads(count)
        try:
            start = self.clock()
            out = kernel(*args)
            elapsed = self.clock() - start
        finally:
            nb.set_num_threads(before)
        if count in self._started:
            seen = self._times.setdefault(count, deque(maxlen=self.window))
            seen.append(elapsed)
            self._medians[count] = statistics.median(seen)
        self._started.add(count)
        if probe:
            self._after_probe()
        elif preferred in self._medians and other in self._medians and self._ranked()[0] != preferred:
            # the preferred count slowed down (the load changed): probe soon again
            self._interval = self.probe_every
            self._next_probe = self._calls + self._interval
        return out


def chooser_for(kind: Hashable) -> ThreadCountChooser:
    """The process's :class:`ThreadCountChooser` for one kind of work (e.g. a kernel and its array shape).

    Kept for the process, across runs: what it measures, whether another process holds a
    core, belongs to the machine, not to a run.

    Parameters
    ----------
    kind : hashable
        What the timings are of: calls of the same kind should cost the same.

    Returns
    -------
    ThreadCountChooser
    """
    if kind not in _choosers:
        _choosers[kind] = ThreadCountChooser()
    return _choosers[kind]
