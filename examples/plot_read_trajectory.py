"""
Reading a trajectory with h5py
==============================

Every run can stream its outputs to HDF5 as it goes. The layout is plain: datasets `/t`, `/rho`,
`/energy`, `/mass`, the grid under `/grid`, and the run's description as attributes. No pdeflow is
needed to read it.
"""

import json
import tempfile
from pathlib import Path

import h5py
import matplotlib.pyplot as plt
import numpy as np

import pdeflow as pf

path = Path(tempfile.mkdtemp()) / "run.h5"
domain = pf.Circle(256)
pf.solve_ufd(domain, pf.teacher_density(domain, 10), r=2.0, coef=0.5,
             t_eval=np.linspace(0, 2, 21), store=path)

with h5py.File(path, "r") as f:
    print(f.attrs["model"], f.attrs["status"], json.loads(f.attrs["params"]))
    t, rho, theta = f["t"][:], f["rho"][:], f["grid/axis0"][:]

fig, ax = plt.subplots(figsize=(7, 3.5))
ax.pcolormesh(theta, t, rho, shading="nearest")
ax.set(xlabel="angle ω", ylabel="t", title="ρ(t, ω) read back from HDF5")
fig.tight_layout()
