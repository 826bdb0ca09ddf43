"""Named files of the repository folders ``solvers/`` and ``validation/``.

They sit next to the package in a source or editable install; a folder of the same
name in the working directory is searched first, so users can add their own.
"""

from __future__ import annotations

from pathlib import Path


def search_dirs(folder: str) -> tuple[Path, ...]:
    return (Path.cwd() / folder, Path(__file__).resolve().parent.parent / folder)


def find_named(folder: str, name: str, suffix: str) -> Path:
    """``<folder>/<name><suffix>`` from the first search directory that has it."""
    for directory in search_dirs(folder):
        path = directory / f"{name}{suffix}"
        if path.is_file():
            return path
    known = sorted({p.stem for d in search_dirs(folder) if d.is_dir() for p in d.glob(f"*{suffix}")})
    raise FileNotFoundError(f"no {name!r} in {folder}/; available: {known}")
