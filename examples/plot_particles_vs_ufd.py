"""
Particles beside the diffusion
==============================

A two-layer ReLU network of width M = 256 trained by VarPro with small λ moves its features
like the ultra-fast diffusion. We compare them at matched times t = kτ with the energy-distance
MMD (no smoothing; the smoothed particles are only for the picture), beside how far the
particles have moved from their start. The distance to the UFD does not vanish: M is finite,
the teacher is an empirical measure of M̄ atoms, and ReLU features on the circle cannot see the
odd Fourier modes ≥ 3 of the feature distribution.
"""

import matplotlib.pyplot as plt
import numpy as np

import pdeflow as pf
from pdeflow.metrics import grid_points, mmd, smooth_particles

domain = pf.Circle(512)
problem = pf.make_teacher_student(domain, gamma=100, n_data=1024, n_teacher=1024, rng=0)
omega0 = np.random.default_rng(1).uniform(0, 2 * np.pi, 256)
tau, steps = 2.0**-7, 256
particles = pf.run_varpro(problem, omega0, lam=1e-3, reg="f_u", tau=tau, steps=steps, save_every=32)
ufd = pf.solve_ufd(domain, pf.teacher_density(domain, 100), r=2.0, coef=0.5, t_eval=particles.t)

distances = []
for k in range(particles.t.size):
    centres, masses = grid_points(domain, ufd.rho[k])   # the grid density as weighted atoms
    distances.append(mmd(particles.positions[k], centres, domain, y_weights=masses))
    moved = mmd(particles.positions[k], particles.positions[0], domain)
    print(f"t = {particles.t[k]:5.2f}   MMD to the UFD {distances[-1]:.4f}   "
          f"MMD to their start {moved:.4f}")

fig, ax = plt.subplots(figsize=(7, 3.5))
k = particles.t.size - 1
ax.plot(domain.axes[0], ufd.rho[k], label="UFD")
ax.plot(domain.axes[0], smooth_particles(particles.positions[k], domain), label="particles (smoothed)")
ax.set(xlabel="angle ω", title=f"t = {particles.t[k]:g}")
ax.legend()
fig.tight_layout()
