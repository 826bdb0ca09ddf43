"""Grid runs that particle sweeps are compared with, keyed by everything they depend on (docs: validation).

A sweep over λ compares every run with one UFD, a sweep over τ or t_end needs one UFD per set
of output times, and a λ-flow depends on λ, f and the data too.  :class:`GridReferences` solves
each distinct reference once, in the calling process, keeps it in ``out_dir`` under a name
carrying its key (:func:`reference_key`), and hands it to :func:`pdeflow.experiments.run_sweep`,
which ships it to the workers with each run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .experiments import ParticleExperiment, ufd_reference, wasserstein_reference
from .keys import SHORT, config_key
from .trajectory import Trajectory


@dataclass(frozen=True)
class GridReference:
    """How to solve one kind of grid reference for an experiment, and what it depends on.

    Parameters
    ----------
    solve : callable
        ``solve(exp, store=, resume=, progress=, **options)`` → Trajectory at ``exp.output_times()``.
    fields : tuple of str
        The :class:`~pdeflow.experiments.ParticleExperiment` fields the run depends on, besides
        its output times (which are always part of the key).
    label : tuple of str
        The fields shown in its file name (the rest is in the key).
    options : dict
        Solver settings fixed here; they are part of the key.
    """

    solve: Callable[..., Trajectory]
    fields: tuple[str, ...]
    label: tuple[str, ...]
    options: dict[str, Any] = field(default_factory=dict, hash=False)


#: The grid references, by model name: the UFD (eq. III.35) and the λ-flow (eq. III.31).
REFERENCES: dict[str, GridReference] = {
    "ufd": GridReference(ufd_reference, fields=("space", "gamma", "n_grid"), label=("gamma", "n_grid"),
                         options={"rtol": 1e-8}),
    "wasserstein": GridReference(wasserstein_reference,
                                 fields=("space", "gamma", "n_grid", "n_data", "data_seed", "lam", "reg"),
                                 label=("lam", "reg", "gamma", "n_grid"), options={"rtol": 1e-6}),
}


def _reference(model: str) -> GridReference:
    if model not in REFERENCES:
        raise ValueError(f"model must be one of {sorted(REFERENCES)}, got {model!r}")
    return REFERENCES[model]


def reference_key(model: str, exp: ParticleExperiment) -> str:
    """SHA-256 key of the ``model`` reference of ``exp``: its fields, output times and solver options.

    Experiments that differ only in what the reference does not depend on (λ and f for the
    UFD, the width M, the number of seeds; τ if the output times are the same) share it.
    """
    ref = _reference(model)
    return config_key({"reference": model, **{name: getattr(exp, name) for name in ref.fields},
                       "times": exp.output_times().tolist(), "options": ref.options})


def reference_path(out_dir: Path, model: str, exp: ParticleExperiment) -> Path:
    """Where the ``model`` reference of ``exp`` is stored in ``out_dir``: readable fields, then the key."""
    ref = _reference(model)
    shown = "_".join(f"{name}{getattr(exp, name):g}" if isinstance(getattr(exp, name), float)
                     else f"{name}{getattr(exp, name)}" for name in ref.label)
    return Path(out_dir) / f"{model}_{shown}_{reference_key(model, exp)[:SHORT]}.h5"


class GridReferences:
    """The ``model`` grid reference of each experiment, solved once per distinct key and stored.

    Called with an experiment, returns its reference (a :class:`~pdeflow.Trajectory` at the
    experiment's matched times): what :func:`~pdeflow.experiments.run_sweep` takes.

    Parameters
    ----------
    model : {"ufd", "wasserstein"}
        A name in :data:`REFERENCES`.
    out_dir : path, optional
        Where the references are kept (:func:`reference_path`); ``None`` keeps them in memory only.
    resume : bool
        Read back a complete reference already in ``out_dir`` instead of solving it again.
    progress : bool
        Progress bars of the grid solver.
    """

    def __init__(self, model: str, out_dir: Path | None = None, *, resume: bool = False,
                 progress: bool = False):
        self.model, self._ref = model, _reference(model)
        self.out_dir = None if out_dir is None else Path(out_dir)
        self.resume, self.progress = resume, progress
        self._solved: dict[str, Trajectory] = {}

    def path(self, exp: ParticleExperiment) -> Path | None:
        """The file of ``exp``'s reference, or ``None`` without ``out_dir``."""
        return None if self.out_dir is None else reference_path(self.out_dir, self.model, exp)

    def __call__(self, exp: ParticleExperiment) -> Trajectory:
        key = reference_key(self.model, exp)
        if key not in self._solved:
            self._solved[key] = self._ref.solve(exp, store=self.path(exp), resume=self.resume,
                                                progress=self.progress, **self._ref.options)
        return self._solved[key]
