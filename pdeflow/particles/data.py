"""Teacher–student data (docs: theory/particles): Gaussian inputs and a teacher network Y(x) = (1/M̄)Σφ(ω̄ᵢ, x)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..domains import MAX_CELLS, Domain, check_domain
from ..scalars import as_count, as_rng
from ..teacher import check_gamma, sample_teacher
from .features import FeatureMap, feature_map_for


@dataclass
class TeacherStudent:
    domain: Domain
    feature: FeatureMap
    x: np.ndarray          # (N, 2) inputs
    y: np.ndarray          # (N,) teacher outputs
    teacher: np.ndarray    # (M̄,) or (M̄, 2) teacher features ω̄
    gamma: float


def make_teacher_student(domain: Domain, gamma: float, n_data: int = 4096, n_teacher: int = 4096,
                         rng: np.random.Generator | int | None = None,
                         feature: FeatureMap | None = None,
                         teacher_modes: str = "iid") -> TeacherStudent:
    """Draw xⱼ ~ N(0, I₂) and ω̄ᵢ ~ μ_γ, and form Yⱼ = (1/M̄)Σᵢφ(ω̄ᵢ, xⱼ).

    Y is the forward product of the feature operator at the teacher with unit weights, so a
    feature map with structure (the sorted ReLU on the circle) never builds the N × M̄ matrix.

    Parameters
    ----------
    domain : Domain
        Feature space: a circle (ReLU features) or a 2-D torus (Laplace RBF features).
    gamma : float
        Concentration of the teacher μ_γ, ≥ 0, or ``inf`` for the teacher atoms themselves.
    n_data : int
        Number N ≥ 1 of inputs (thesis: 4096).
    n_teacher : int
        Number M̄ ≥ 1 of teacher features (thesis: 4096).
    rng : numpy Generator, int or None
        Random generator or seed.
    feature : FeatureMap, optional
        Feature map φ; default the thesis' one for ``domain``.
    teacher_modes : {"iid", "stratified"}
        How the teacher atoms are assigned to the modes of μ_γ (:func:`pdeflow.sample_teacher`).

    Returns
    -------
    TeacherStudent
        ``domain``, ``feature``, inputs ``x`` (N, 2), labels ``y`` (N,), teacher features
        ``teacher`` (M̄,) or (M̄, 2), and ``gamma``.
    """
    domain = check_domain(domain)
    n_data = as_count(n_data, "n_data", minimum=1, maximum=MAX_CELLS)
    n_teacher = as_count(n_teacher, "n_teacher", minimum=1, maximum=MAX_CELLS)
    gamma = check_gamma(gamma, allow_inf=True)
    rng = as_rng(rng)
    if feature is not None and not isinstance(feature, FeatureMap):
        raise ValueError(f"feature must be a pdeflow FeatureMap (e.g. pf.ReLUCircle()), got "
                         f"{type(feature).__name__} {feature!r:.40}")
    feature = feature or feature_map_for(domain)
    feature.check_domain(domain)
    x = np.ascontiguousarray(rng.standard_normal((n_data, 2)))
    teacher = sample_teacher(domain, gamma, n_teacher, rng, modes=teacher_modes)
    y = feature.bind(x)(teacher).forward(np.ones(teacher.shape[0])) / teacher.shape[0]
    return TeacherStudent(domain, feature, x, y, teacher, float(gamma))
