"""Finite networks: particles ω₁…ω_M of a two-layer mean-field network (docs: theory/particles)."""

from .features import FeatureMap, LaplaceRBF, ReLUCircle, feature_map_for
from .regularizers import Regularizer, biased, power, unbiased
from .data import TeacherStudent, make_teacher_student
from .varpro import Projection, VarPro, run_varpro, run_two_timescale

__all__ = ["FeatureMap", "LaplaceRBF", "ReLUCircle", "feature_map_for", "Regularizer", "biased",
           "unbiased", "power", "TeacherStudent", "make_teacher_student", "Projection", "VarPro",
           "run_varpro", "run_two_timescale"]
