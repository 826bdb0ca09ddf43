"""Particle sweeps on a dask.distributed cluster (the optional extra ``dask``; docs: validation).

:func:`dask_client` gives a ``Client``, whose ``submit`` is what
:func:`pdeflow.experiments.run_many` and :func:`~pdeflow.experiments.run_sweep` take as their
``executor``.  Workers write the runs' files themselves, so they must share the file system
of the output directory (one machine, or a network file system).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .errors import MissingExtraError
from .experiments import SINGLE_THREADED_ENV
from .scalars import as_count

INSTALL = "pip install -e '.[dask]'"


def _distributed():
    try:
        import distributed
    except ImportError:
        raise MissingExtraError(f"a scheduler needs dask.distributed, which is not installed: {INSTALL}") from None
    return distributed


@contextmanager
def dask_client(scheduler: str, workers: int = 1) -> Iterator[Any]:
    """A ``dask.distributed.Client`` for the runs of a sweep, closed on exit.

    Parameters
    ----------
    scheduler : str
        ``"local"`` starts a ``LocalCluster`` of ``workers`` processes on this machine (and stops
        it on exit); anything else is the address of a running scheduler (``tcp://host:8786``).
    workers : int
        Worker processes of the local cluster (a running scheduler has its own workers).

    Yields
    ------
    distributed.Client
        Connected; every worker runs one task at a time with one thread each (local workers
        get :data:`pdeflow.experiments.SINGLE_THREADED_ENV`; a running scheduler's workers
        must have been started with ``--nthreads 1``, which is checked).

    Raises
    ------
    MissingExtraError
        dask.distributed is not installed (an ``ImportError`` whose message says what to install).
    ValueError
        ``workers`` is not a count, is given for a running scheduler, or a worker there runs
        several threads.
    """
    distributed = _distributed()
    if not isinstance(scheduler, str) or not scheduler:
        raise ValueError(f"scheduler must be 'local' or a scheduler address, got {scheduler!r}")
    workers = as_count(workers, "workers", minimum=1)
    if scheduler != "local":
        if workers != 1:
            raise ValueError(f"workers = {workers} applies to scheduler 'local' only: the scheduler at "
                             f"{scheduler} has its own workers")
        try:
            client = distributed.Client(scheduler)
        except OSError as err:   # refused, timed out, no such host: one line naming the address
            raise OSError(f"scheduler {scheduler}: {err}") from None
        with client:
            threads = {addr: n for addr, n in client.nthreads().items() if n != 1}
            if threads:
                addr, n = next(iter(threads.items()))
                raise ValueError(f"scheduler {scheduler}: worker {addr} runs {n} threads; start the workers "
                                 "with --nthreads 1 (each particle run is single-threaded)")
            yield client
        return
    # processes, not threads: the runs hold the GIL in numpy and h5py; each inherits one thread
    # for BLAS and numba, as the jobs > 1 processes do, so both give the same numbers
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", env=dict(SINGLE_THREADED_ENV)) as cluster, \
            distributed.Client(cluster) as client:
        yield client
