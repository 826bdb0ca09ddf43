"""Problem files of every registered model: the Wasserstein flow runs from a file as the UFD does."""

import numpy as np
import pytest

import pdeflow as pf
from pdeflow.cli import main
from pdeflow.problems import load_problem

FLOW = """
name = "flow"
model = "wasserstein"
[domain]
kind = "circle"
n = 64
[parameters]
lam = 0.1
reg = "f_u"
gamma = 100
n_data = 256
n_teacher = 256
seed = 3
[time]
t_end = 0.5
outputs = 3
plot_times = [0, 0.5]
"""


def test_a_wasserstein_problem_file_runs_the_flow_of_its_data(tmp_path, capsys):
    (tmp_path / "flow.toml").write_text(FLOW)
    assert main(["run", str(tmp_path / "flow.toml"), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert "risk" in capsys.readouterr().out
    traj = pf.load_trajectory(tmp_path / "out" / "flow.h5")
    problem = pf.make_teacher_student(pf.Circle(64), 100, 256, 256, rng=3)
    direct = pf.solve_wasserstein_flow(problem, lam=0.1, reg="f_u", t_eval=[0, 0.25, 0.5])
    np.testing.assert_allclose(traj.rho, direct.rho, rtol=0, atol=1e-12)
    assert traj.model == "wasserstein" and traj.risk[-1] < traj.risk[0]


@pytest.mark.parametrize("edit, message", [
    (("[time]", "[weight]\nkind = \"teacher\"\ngamma = 10\n[time]"), r"\[weight\] does not apply to model 'wasserstein'"),
    (("lam = 0.1\n", ""), "missing key 'lam' in \\[parameters\\]"),
    (("lam = 0.1", "lam = -0.1"), r"\[parameters\] lam must be > 0"),
    (("reg = \"f_u\"", "reg = \"f_x\""), "unknown regularisation 'f_x'"),
    (("kind = \"circle\"\nn = 64", "kind = \"interval\"\na = 0\nb = 1\nn = 16"), "circle or the 2-D torus"),
    (("[time]", "[solver]\nrtol = 2.0\n[time]"), r"rtol must lie in \["),
])
def test_bad_wasserstein_problem_files(tmp_path, edit, message):
    (tmp_path / "flow.toml").write_text(FLOW.replace(*edit))
    with pytest.raises(ValueError, match=message):
        from pdeflow.problems import check_problem
        check_problem(load_problem(tmp_path / "flow.toml"))


def test_the_shipped_wasserstein_problem_is_the_circle_flow():
    from pdeflow.problems import find_problem
    p = load_problem(find_problem("wasserstein_circle"))
    assert p.model == "wasserstein" and p.domain == pf.Circle(512) and p.weight is None
    assert p.parameters["lam"] == 1e-2 and p.parameters["n_data"] == 4096
