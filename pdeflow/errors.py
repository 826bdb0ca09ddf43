"""Exceptions shared by grid and particle runs."""

from __future__ import annotations


class IntegrationError(RuntimeError):
    """A run that cannot go on; names the time and, where known, the grid cell and value.

    Raised after every output reached so far has been saved (in memory and in the run's
    HDF5 file, whose status becomes ``failed: <message>``).

    Parameters
    ----------
    message : str
        What went wrong, one line.
    t : float, optional
        Time at which the run failed.
    cell : tuple of int, optional
        Grid cell (index per axis) where the state became inadmissible.
    value : float, optional
        The offending value there.
    """

    def __init__(self, message: str, t: float | None = None, cell: tuple | None = None,
                 value: float | None = None):
        super().__init__(message)
        self.t, self.cell, self.value = t, cell, value


class MissingExtraError(ImportError):
    """An optional dependency is not installed; the message names the extra that brings it
    (e.g. ``pip install -e '.[dask]'``)."""
