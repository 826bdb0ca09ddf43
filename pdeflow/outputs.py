"""Figures and JSON summaries written beside the trajectories: only ever pdeflow's own files replaced.

A validation or ``pdeflow run`` writes ``<name>.png`` and ``summary.json`` into the folder the
user named.  What is already there under those names may be the user's own file, a symbolic
link to somewhere else, or the output of an earlier pdeflow run; only the last may be replaced.
Each file is written aside first and renamed into place, so that a reader (or a crash) never
meets half a file and a link at the name is never followed out of the folder.

pdeflow's figures carry ``Software = pdeflow`` in their PNG metadata; its JSON summaries are
objects with an ``"experiment"`` entry.  (Validations may share a folder, so any pdeflow summary
may be replaced by another's ``summary.json``; a user's file never.)
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Callable

#: the PNG text entry that marks a figure as pdeflow's
FIGURE_MARK = {"Software": "pdeflow"}


def is_pdeflow_figure(path: Path) -> bool:
    """True if ``path`` is a PNG whose metadata says pdeflow wrote it."""
    try:
        from PIL import Image   # matplotlib's own dependency

        with Image.open(path) as image:
            return image.format == "PNG" and str(image.info.get("Software", "")).startswith("pdeflow")
    except Exception:   # not an image, unreadable: not ours
        return False


def is_pdeflow_summary(path: Path, experiment: str | None = None) -> bool:
    """True if ``path`` is a JSON summary pdeflow wrote (of ``experiment``, if given)."""
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    return isinstance(data, dict) and "experiment" in data and (experiment is None or data["experiment"] == experiment)


def check_replaceable(path: Path, ours: Callable[[Path], bool], what: str) -> None:
    """A ValueError unless ``path`` is free or holds a file ``ours`` recognises (never a link)."""
    if os.path.islink(path):
        raise ValueError(f"{str(path)!r} is a symbolic link; pdeflow writes its {what} only as a plain "
                         "file inside the output folder: remove the link or choose another folder")
    if os.path.lexists(path) and not (os.path.isfile(path) and ours(path)):
        raise ValueError(f"{str(path)!r} exists and is not a {what} written by pdeflow; it is never "
                         "replaced: move it or choose another folder")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_aside(path: Path, write: Callable[[Path], None]) -> None:
    """``write(tmp)`` to a temporary file beside ``path``, then rename it to ``path``.

    A reader (or a crash) never meets half a file, and a link at ``path`` is replaced, not
    followed; the temporary is removed if ``write`` fails.
    """
    path = Path(path)
    folder = path.parent
    with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{path.name}.", suffix=path.suffix, delete=False) as part:
        pass
    try:
        write(Path(part.name))
        os.chmod(part.name, 0o666 & ~_umask())   # as open() would have made it (the temporary is 0600)
        os.replace(part.name, path)   # replaces a file, never follows a link at path
    except BaseException:
        if os.path.lexists(part.name):
            os.unlink(part.name)
        raise


def save_figure(fig, path: str | os.PathLike, dpi: int = 110, close: bool = True) -> Path:
    """Save ``fig`` as the PNG ``path`` (marked as pdeflow's), replacing only an earlier pdeflow figure.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : path
        Where; an existing file there must be a figure pdeflow wrote, and not a link.
    dpi : int
        Resolution.
    close : bool
        Close the figure afterwards.

    Returns
    -------
    Path
    """
    path = Path(path)
    check_replaceable(path, is_pdeflow_figure, "figure")
    write_aside(path, lambda tmp: fig.savefig(tmp, dpi=dpi, format="png", metadata=FIGURE_MARK))
    if close:
        import matplotlib.pyplot as plt

        plt.close(fig)
    return path


def write_summary_json(path: str | os.PathLike, summary: dict) -> Path:
    """Write ``summary`` (a dict with an ``"experiment"`` entry) as JSON to ``path``, replacing only an
    earlier pdeflow summary (validations may share a folder: each writes ``summary.json`` and
    some also ``<experiment>.json``).

    Parameters
    ----------
    path : path
    summary : dict

    Returns
    -------
    Path
    """
    path = Path(path)
    if not (isinstance(summary, dict) and "experiment" in summary):
        raise ValueError("a summary must be a dict with an 'experiment' entry (how pdeflow knows its own)")
    check_replaceable(path, is_pdeflow_summary, "summary")
    text = json.dumps(summary, indent=2, default=float)
    write_aside(path, lambda tmp: tmp.write_text(text))
    return path
