"""The PDE models: each turns a density on a grid into a semi-discrete ODE system.

Every model subclasses :class:`GridModel` and is run by :func:`pdeflow.solve`.
"""

from .base import GridModel
from .ultrafast import UFDParams, UltraFastDiffusion, solve_ufd
from .wasserstein import WassersteinFlow, WassersteinParams, solve_wasserstein_flow

__all__ = ["GridModel", "UFDParams", "UltraFastDiffusion", "solve_ufd", "WassersteinFlow",
           "WassersteinParams", "solve_wasserstein_flow"]
