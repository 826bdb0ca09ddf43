"""The PDE models: each turns a density on a grid into a semi-discrete ODE system."""

from .ultrafast import UFDParams, UltraFastDiffusion, solve_ufd

__all__ = ["UFDParams", "UltraFastDiffusion", "solve_ufd"]
