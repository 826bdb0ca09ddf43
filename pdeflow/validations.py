"""Locate the validation scripts of ``validation/`` (one module per thesis figure)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

VALIDATION_DIRS = (Path.cwd() / "validation", Path(__file__).resolve().parent.parent / "validation")


def available() -> list[str]:
    return sorted({p.stem for d in VALIDATION_DIRS if d.is_dir() for p in d.glob("fig_*.py")})


def find_validation(name: str) -> ModuleType:
    for folder in VALIDATION_DIRS:
        path = folder / f"{name}.py"
        if path.is_file():
            spec = importlib.util.spec_from_file_location(f"pdeflow_validation_{name}", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
    raise FileNotFoundError(f"no validation {name!r}; available: {available()}")
