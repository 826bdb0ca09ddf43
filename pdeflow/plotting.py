"""Figures of trajectories (matplotlib, non-interactive backend)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .outputs import save_figure
from .trajectory import Trajectory  # noqa: E402


def plot_densities(traj: Trajectory, times, path: str | Path | None = None, title: str | None = None):
    """Densities at the saved times nearest to ``times`` beside the weight (1-D), or as panels (2-D)."""
    domain = traj.domain
    weight = traj.static.get("weight")
    idx = sorted({traj.at(t) for t in times})
    if domain.ndim == 1:
        fig, (ax, ax_e) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [2, 1]})
        x = domain.axes[0]
        colors = plt.cm.viridis(np.linspace(0, 0.9, len(idx)))
        for k, c in zip(idx, colors):
            ax.plot(x, traj.rho[k], color=c, lw=1.2, label=f"t = {traj.t[k]:g}")
        if weight is not None:
            ax.plot(x, weight, "k--", lw=1.2, label="weight μ̄")
        ax.set_xlabel("ω")
        ax.set_ylabel("density")
        ax.legend(fontsize=8, loc="upper center")
        r, coef = traj.params.get("r"), traj.params.get("coef")
        if weight is not None and r is not None:
            # E(μ̄) = coef/(r−1)·mass is the minimum of the UFD energy.
            gap = traj.energy - coef / (r - 1) * domain.integrate(weight)
            ax_e.semilogy(traj.t, np.maximum(gap, 1e-16), lw=1.2)
            ax_e.set_title("E(μ_t) − E(μ̄)", fontsize=9)
        else:
            # the model's own decreasing quantity: the UFD's energy or the flow's reduced risk
            scalar = "energy" if "energy" in traj.data else "risk"
            ax_e.plot(traj.t, traj.data[scalar], lw=1.2)
            ax_e.set_title(scalar, fontsize=9)
        ax_e.set_xlabel("t")
    else:
        panels = len(idx) + (weight is not None)
        fig, axes = plt.subplots(1, panels, figsize=(3.2 * panels, 3.2), squeeze=False)
        extent = (domain.lower[0], domain.upper[0], domain.lower[1], domain.upper[1])
        fields = [(traj.rho[k], f"t = {traj.t[k]:g}") for k in idx]
        if weight is not None:
            fields.append((weight, "weight μ̄"))
        vmax = max(float(np.max(f)) for f, _ in fields)  # one colour scale for all panels
        for ax, (field, label) in zip(axes[0], fields):
            # first axis horizontal, second vertical
            ax.imshow(field.T, origin="lower", extent=extent, cmap="magma", vmin=0, vmax=vmax)
            ax.set_title(label, fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path, dpi=110)
    return fig
