"""Named files of the repository folders ``solvers/`` and ``validation/``.

They sit next to the package (``<repo>/solvers``, ``<repo>/validation`` beside
``<repo>/pdeflow``) in a source or editable install, and a *name* resolves only there:
never in the working directory, so running ``pdeflow validate`` inside an untrusted
checkout does not execute its scripts, and never as a path, so ``../x`` is not a name.
A user's own problem file is passed as a path instead (see
:func:`pdeflow.problems.find_problem`); validations are the package's own code only.
"""

from __future__ import annotations

from pathlib import Path


def package_dir(folder: str) -> Path:
    """``<repo>/<folder>``, the folder beside the ``pdeflow`` package."""
    return Path(__file__).resolve().parent.parent / folder


def available(folder: str, suffix: str) -> list[str]:
    """The names (file stems) of the ``suffix`` files in the package's ``folder``."""
    directory = package_dir(folder)
    if not directory.is_dir():
        return []
    return sorted(p.stem for p in directory.glob(f"*{suffix}")
                  if p.is_file() and p.stem.isidentifier() and not p.stem.startswith("_"))


def find_named(folder: str, name: str, suffix: str) -> Path:
    """``<folder>/<name><suffix>`` of the package; ``name`` must be one of :func:`available`."""
    known = available(folder, suffix)
    if not isinstance(name, str) or name not in known:
        raise FileNotFoundError(f"no {name!r} in pdeflow's {folder}/ ({package_dir(folder)}); "
                                f"available: {known}")
    return package_dir(folder) / f"{name}{suffix}"
