"""pdeflow: mean-field training dynamics of neural networks as PDEs on grids, checked against particles.

Public API (equation numbers are the thesis'; the pages under docs/ explain them):

* domains: :func:`Circle`, :func:`Torus`, :func:`Interval`, :func:`Box` (docs: theory/driver)
* grid models and their driver: :class:`GridModel`, :func:`solve`
* weighted ultra-fast diffusion: :func:`solve_ufd` (docs: theory/ufd, eq. III.35)
* the λ > 0 Wasserstein gradient flow, the mean-field limit of VarPro: :class:`WassersteinFlow`,
  :func:`solve_wasserstein_flow` (docs: theory/wasserstein, eq. III.31)
* teacher distributions μ_γ: :func:`teacher_density`, :func:`sample_teacher` (docs: theory/particles)
* trajectories: :class:`Trajectory`, :func:`load_trajectory` (HDF5)
* particles (finite networks): :func:`make_teacher_student`, :class:`VarPro`, :func:`run_varpro`,
  :func:`run_two_timescale` (docs: theory/particles, eqs. III.41–III.44); feature maps :class:`ReLUCircle`,
  :class:`LaplaceRBF`
* COT gradient flows of mean-field ResNets (docs: theory/cot): :func:`solve_cot` (grid), :func:`run_resnet`
  (finite ResNets), :func:`cot_problem` (P1, P2, P2b, P3); building blocks in :mod:`pdeflow.cot`
* metrics: :mod:`pdeflow.metrics` (MMD, W₁/W₂, χ², smoothing; docs: theory/metrics)
"""

__version__ = "0.1.0"

import os as _os

# numba's parallel kernels run on OpenMP: its waiting threads sleep instead of spinning.
# Spinning saves microseconds per parallel region on an idle machine and costs whole time
# slices beside other work (pdeflow.threads).  Set before numba starts its threads; a
# setting of the user's own wins.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .domains import Box, Circle, Domain, Interval, Torus  # noqa: E402
from .errors import IntegrationError
from .driver import solve
from .io import load_trajectory
from .models import (GridModel, UFDParams, UltraFastDiffusion, WassersteinFlow, WassersteinParams,
                     solve_ufd, solve_wasserstein_flow)
from .teacher import sample_teacher, teacher_density
from .trajectory import Trajectory
from .particles import (LaplaceRBF, ReLUCircle, VarPro, make_teacher_student, run_two_timescale,
                        run_varpro)
from .cot import COTProblem, cot_problem, run_resnet, solve_cot
from . import metrics

__all__ = [
    "Box", "Circle", "Domain", "Interval", "Torus",
    "IntegrationError", "load_trajectory", "Trajectory",
    "GridModel", "solve", "UFDParams", "UltraFastDiffusion", "solve_ufd",
    "WassersteinFlow", "WassersteinParams", "solve_wasserstein_flow",
    "sample_teacher", "teacher_density",
    "LaplaceRBF", "ReLUCircle", "VarPro", "make_teacher_student", "run_two_timescale", "run_varpro",
    "COTProblem", "cot_problem", "run_resnet", "solve_cot",
    "metrics",
]
