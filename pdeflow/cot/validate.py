"""Building blocks of the COT validation scripts (``validation/cot_*.py``): fits and figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..outputs import save_figure
from ..experiments import pairs

__all__ = ["loglog_slope", "log_slope", "observed_orders", "plot_risks", "plot_depth_theta",
           "plot_layers_2d", "save"]


def loglog_slope(x, y) -> float:
    """Least-squares slope of log y against log x (e.g. distance ∝ M^slope)."""
    return float(np.polyfit(np.log(np.asarray(x, float)), np.log(np.asarray(y, float)), 1)[0])


def log_slope(t, values, window) -> tuple[float, float]:
    """Decay rate κ (values ≈ C e^{−κt}) on ``window`` and the R² of the fit."""
    from ..experiments import log_rate
    return log_rate(t, values, window)


def observed_orders(ns, errors) -> list[float]:
    """log₂(e(n)/e(2n))-style orders between successive grids: log(e_i/e_{i+1})/log(n_{i+1}/n_i)."""
    ns, e = np.asarray(ns, float), np.asarray(errors, float)
    return [float(np.log(e[i] / e[i + 1]) / np.log(ns[i + 1] / ns[i])) for i in range(len(e) - 1)]


def plot_risks(ax, curves: dict, title: str = "risk") -> None:
    """Risk curves R(t) on a log scale, one line per ``label: (t, R)`` (dashed for particles)."""
    for label, (t, r) in curves.items():
        ax.semilogy(t, r, "--" if "particle" in label or "M =" in label else "-", label=label, lw=1.3)
    ax.set_xlabel("training time t")
    ax.set_title(title)
    ax.legend(fontsize=7)


def plot_depth_theta(fig, axes, traj, times, label: str = "θ") -> None:
    """Per-layer densities of a 1-D-Θ grid run as depth–θ images (s vertical, θ horizontal), one per time."""
    dom = traj.domain
    idx = [traj.at(t) for t in times]
    vmax = float(max(traj.rho[k].max() for k in idx))
    S = traj.rho.shape[1]
    for ax, k in zip(axes, idx):
        im = ax.imshow(traj.rho[k], origin="lower", aspect="auto", cmap="magma", vmin=0, vmax=vmax,
                       extent=(dom.lower[0], dom.upper[0], 0, 1))
        ax.set_title(f"t = {traj.t[k]:g}", fontsize=9)
        ax.set_xlabel(label)
    axes[0].set_ylabel(f"depth s (S = {S} layers)")
    fig.colorbar(im, ax=list(axes), shrink=0.8, label="density")


def plot_layers_2d(fig, axes, traj, times, layers) -> None:
    """Images of a few layers (rows) at a few times (columns) of a 2-D-Θ grid run."""
    dom = traj.domain
    extent = (dom.lower[0], dom.upper[0], dom.lower[1], dom.upper[1])
    idx = [traj.at(t) for t in times]
    vmax = float(max(traj.rho[k][layers].max() for k in idx))
    for r, layer in enumerate(layers):
        for c, k in enumerate(idx):
            ax = axes[r, c]
            ax.imshow(traj.rho[k, layer].T, origin="lower", extent=extent, cmap="magma", vmin=0, vmax=vmax,
                      aspect="auto")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"t = {traj.t[k]:g}", fontsize=9)
            if c == 0:
                ax.set_ylabel(f"layer {layer}", fontsize=9)


def risks_beside_layers(curves: dict, risk_title: str, traj, times, suptitle: str, path: Path) -> None:
    """The figure of a 2-D-Θ validation: risk curves (left third) beside images of the first,
    middle and last layers (rows) at ``times`` (columns), saved to ``path``."""
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(14, 7))
    plot_risks(fig.add_subplot(1, 3, 1), curves, risk_title)
    axes = np.array([[fig.add_subplot(3, 6, 6 * r + 3 + c) for c in range(len(times))] for r in range(3)])
    S = traj.rho.shape[1]
    plot_layers_2d(fig, axes, traj, times, [0, S // 2, S - 1])
    fig.suptitle(suptitle)
    save(fig, path)


def save(fig, path: Path) -> None:
    save_figure(fig, path, dpi=100)


def risk_summary(traj) -> list[list[float]]:
    """``[[t, R], ...]`` of a run."""
    return pairs(traj.t, traj.risk)
