import numpy as np

import pdeflow as pf
from pdeflow.cli import main


PROBLEM = """
name = "tiny"
model = "ufd"
[domain]
kind = "circle"
n = 64
[weight]
kind = "teacher"
gamma = 100
[parameters]
r = 2.0
coef = 0.5
[time]
t_end = 2.0
outputs = 5
plot_times = [0, 1, 2]
[solver]
rtol = 1e-6
"""


def test_run_writes_trajectory_and_figure(tmp_path, capsys):
    toml = tmp_path / "tiny.toml"
    toml.write_text(PROBLEM)
    assert main(["run", str(toml), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    traj = pf.load_trajectory(tmp_path / "out" / "tiny.h5")
    np.testing.assert_allclose(traj.t, np.linspace(0, 2, 5))
    assert abs(traj.mass[-1] - 1.0) < 1e-13
    png = (tmp_path / "out" / "tiny.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert "mass drift" in capsys.readouterr().out


def test_run_reports_bad_problem(tmp_path, capsys):
    toml = tmp_path / "bad.toml"
    toml.write_text(PROBLEM.replace('kind = "circle"', 'kind = "sphere"'))
    assert main(["run", str(toml), "--out", str(tmp_path)]) == 2
    assert "unknown domain kind" in capsys.readouterr().err
    assert main(["run", "no_such_problem"]) == 2
    toml.write_text(PROBLEM.replace("coef = 0.5", "coef = 0.5\nbeta = 3"))
    assert main(["run", str(toml), "--out", str(tmp_path)]) == 2
    assert "unknown keys ['beta']" in capsys.readouterr().err


def test_default_problem_file_is_the_thesis_case():
    from pdeflow.problems import find_problem, load_problem
    p = load_problem(find_problem(None))
    assert p.domain == pf.Circle(1024) and p.parameters == {"r": 2.0, "coef": 0.5}
    assert p.t_eval[-1] == 20.0 and p.rho0 is None
    np.testing.assert_allclose(p.weight, pf.teacher_density(pf.Circle(1024), 100))
