"""Distances between feature distributions (SPEC.md §5): particles, weighted particles, grid densities.

A grid density enters as its cell centres weighted by cell masses
(:func:`grid_points`), so any two of them compare.
"""

from .mmd import energy_distance_sums, grid_points, mmd
from .wasserstein import wasserstein_circle, wasserstein_interval
from .divergences import chi2, smooth_particles
from .modes import energy_distance_modes, fourier_coefficients, relu_invisible

__all__ = ["mmd", "grid_points", "energy_distance_sums", "wasserstein_circle",
           "wasserstein_interval", "chi2", "smooth_particles", "energy_distance_modes",
           "fourier_coefficients", "relu_invisible"]
