"""Distances between feature distributions (docs: theory/metrics): particles, weighted particles, grid densities.

A grid density enters as its cell centres weighted by cell masses
(:func:`grid_points`), so any two of them compare.  COT states (S layers on one Θ) compare
layer by layer (:mod:`pdeflow.metrics.cot`: W_p per layer, W₂^COT, path length).
"""

from .mmd import energy_distance_sums, grid_mean_distance, grid_points, mean_distance, mmd
from .wasserstein import wasserstein_circle, wasserstein_interval
from .divergences import chi2, smooth_particles
from .cot import LayerMeasures, layer_measures, layer_wasserstein, path_length, wasserstein_cot
from .modes import energy_distance_modes, fourier_coefficients, relu_invisible

__all__ = ["mmd", "grid_points", "energy_distance_sums", "mean_distance", "grid_mean_distance", "wasserstein_circle",
           "wasserstein_interval", "chi2", "smooth_particles", "LayerMeasures", "layer_measures",
           "layer_wasserstein", "wasserstein_cot", "path_length", "energy_distance_modes",
           "fourier_coefficients", "relu_invisible"]
