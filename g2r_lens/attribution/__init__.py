"""Attribution methods: one registry, one signature (see :mod:`g2r_lens.attribution.base`)."""

from . import attention, controls, gradient, integrated, perturbation  # noqa: F401  (registration)
from .base import REGISTRY, MethodContext, MethodSpec, RowScores, available_methods, get_method, register

__all__ = ["REGISTRY", "MethodContext", "MethodSpec", "RowScores", "available_methods", "get_method", "register"]
