"""Finite volumes on cell-centred grids: the face graph, its flux kernels and Jacobian layouts.

Every grid model of the package moves a density by a continuity equation
∂ₜμ + div(μ v) = 0 with a potential velocity v = ∇Ψ.  On a grid this is one
mechanism: a flux through every interior face, ``F = mobility_f · (Ψ_right − Ψ_left)``,
added to one cell and taken from the other, so mass is conserved to round-off
whatever Ψ is.  Models differ only in the face mobility (T·√(μ̄_l μ̄_r) for the UFD,
T times a face mean of μ for a general velocity potential) and in how Ψ depends on μ.
Models whose velocity is given at the faces (the COT flow: v = −ΔΠ/h) use the upwind or
MUSCL/van Leer face values of μ instead (:func:`face_stencil`, ``advection_fluxes``).
"""

from .faces import FaceGraph, FaceStencil, face_graph, face_stencil, band_ordering
from .assembly import BandedLayout, SparseLayout

__all__ = ["FaceGraph", "FaceStencil", "face_graph", "face_stencil", "band_ordering", "BandedLayout", "SparseLayout"]
