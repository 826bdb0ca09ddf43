"""Load the validation scripts of ``validation/`` (one module per thesis figure)."""

from __future__ import annotations

import importlib.util
from types import ModuleType

from .project_files import find_named


def find_validation(name: str) -> ModuleType:
    path = find_named("validation", name, ".py")
    spec = importlib.util.spec_from_file_location(f"pdeflow_validation_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
