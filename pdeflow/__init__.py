"""pdeflow: mean-field training dynamics of neural networks as PDEs on grids, checked against particles.

Public API (equation numbers refer to SPEC.md and the thesis):

* domains: :func:`Circle`, :func:`Torus`, :func:`Interval`, :func:`Box` (SPEC §1)
* weighted ultra-fast diffusion: :func:`solve_ufd` (SPEC §4b, eq. III.35)
* teacher distributions μ_γ: :func:`teacher_density`, :func:`sample_teacher` (SPEC §2)
* trajectories: :class:`Trajectory`, :func:`load_trajectory` (HDF5)
"""

__version__ = "0.1.0"

from .domains import Box, Circle, Domain, Interval, Torus
from .integrators import IntegrationError
from .io import load_trajectory
from .models import UFDParams, UltraFastDiffusion, solve_ufd
from .teacher import sample_teacher, teacher_density
from .trajectory import Trajectory

__all__ = [
    "Box", "Circle", "Domain", "Interval", "Torus",
    "IntegrationError", "load_trajectory", "Trajectory",
    "UFDParams", "UltraFastDiffusion", "solve_ufd",
    "sample_teacher", "teacher_density",
]
