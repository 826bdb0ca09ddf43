"""
A problem file
==============

`pdeflow run` reads a TOML problem file. The same from Python: load it, look at it, run it.
Here the file asks for the UFD on an interval with a no-flux boundary and a power r = 3.
"""

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt

from pdeflow.problems import load_problem, run_problem

text = """
name = "interval_demo"
model = "ufd"

[domain]
kind = "interval"
a = -1.0
b = 1.0
n = 256

[weight]
kind = "uniform"

[parameters]
r = 3.0
coef = 1.0

[time]
t_end = 0.5
outputs = 11
plot_times = [0, 0.1, 0.5]
"""
folder = Path(tempfile.mkdtemp())
(folder / "interval_demo.toml").write_text(text)
problem = load_problem(folder / "interval_demo.toml")
print(problem.domain, problem.parameters)
traj, store, figure = run_problem(problem, folder / "out", progress=False)
print(f"wrote {store.name}; energy {traj.energy[0]:.4g} -> {traj.energy[-1]:.4g}")

fig, ax = plt.subplots(figsize=(7, 3.5))
ax.plot(problem.domain.axes[0], traj.rho[0], label="t = 0")
ax.plot(problem.domain.axes[0], traj.rho[-1], label=f"t = {traj.t[-1]:g}")
ax.set(xlabel="x", title="UFD on [−1, 1] with a uniform weight")
ax.legend()
fig.tight_layout()
