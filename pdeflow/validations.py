"""Load the validation scripts of ``validation/`` (one module per thesis figure).

Only the package's own scripts are loaded, by name (see :mod:`pdeflow.project_files`):
a validation is code, and is never looked up in the working directory or by path.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from .project_files import available, find_named


def available_validations() -> list[str]:
    return available("validation", ".py")


def find_validation(name: str) -> ModuleType:
    path = find_named("validation", name, ".py")
    spec = importlib.util.spec_from_file_location(f"pdeflow_validation_{name}", path)
    module = importlib.util.module_from_spec(spec)
    # registered before it runs, as an import would: dataclasses look their module up there
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
