"""Conditional-optimal-transport (COT) gradient flows of mean-field ResNets (docs: theory/cot, thesis Ch. I–II).

* :mod:`~pdeflow.cot.residuals` — residual maps ψ(θ, x) with D_θψ, D_xψ (the layer's basis function)
* :mod:`~pdeflow.cot.depth` — S explicit-Euler layers, exact discrete adjoint, Π_k, V_k, kernels
* :mod:`~pdeflow.cot.grid` — S layers of finite volumes on a Θ-grid (a :class:`~pdeflow.GridModel`)
* :mod:`~pdeflow.cot.particles` — the finite ResNet of depth S and width M (GD or ODE)
* :mod:`~pdeflow.cot.problems` — the test problems P1, P2, P2b, P3 (docs: theory/cot §6)
* COT metrics (per-layer W_p, W₂^COT, path length) are in :mod:`pdeflow.metrics.cot`.
"""

from .residuals import (RESIDUALS, CircleTranslation, LinearTrig, ResidualMap, ResidualValues,
                        TanhSHL, TorusTranslation, register_residual)
from .depth import DepthPass, depth_pass, gradient_norm, kernel_matrices, pl_lower_bound
from .problems import COT_PROBLEMS, INITS, COTProblem, cot_problem
from .grid import SCHEMES, COTGrid, COTGridParams
from .solve import solve_cot
from .particles import ResNetFlow, run_resnet

__all__ = ["RESIDUALS", "CircleTranslation", "LinearTrig", "ResidualMap", "ResidualValues", "TanhSHL",
           "TorusTranslation", "register_residual", "DepthPass", "depth_pass", "gradient_norm",
           "kernel_matrices", "pl_lower_bound", "COT_PROBLEMS", "INITS", "COTProblem", "cot_problem",
           "SCHEMES", "COTGrid", "COTGridParams", "solve_cot", "ResNetFlow", "run_resnet"]
