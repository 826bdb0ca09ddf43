"""Issue 13, problem files and the command line.

Each test here failed before the fix: unknown sections and misspelt keys were ignored or
gave tracebacks, floats were truncated to counts, ``name`` could point outside ``--out``,
the output directory was made before the problem was checked, a re-run silently replaced
the last run's file, Ctrl-C and a failing run ended in tracebacks, and ``validate`` ran
scripts found in the working directory or at any path.
"""

from pathlib import Path

import numpy as np
import pytest

import pdeflow as pf
from pdeflow.cli import main
from pdeflow.problems import find_problem, load_problem

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
t_end = 1.0
outputs = 5
plot_times = [0, 1]
[solver]
rtol = 1e-6
"""


def _toml(tmp_path, text=PROBLEM, name="tiny.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


# ---- problem files -----------------------------------------------------------------------------

@pytest.mark.parametrize("old, new, match", [
    ("[parameters]", "[paramters]", r"unknown section \[paramters\].*did you mean \[parameters\]\?"),
    ("[solver]", "[solvr]", r"unknown section \[solvr\].*did you mean \[solver\]\?"),
    ("t_end = 1.0", "t_ned = 1.0", r"unknown keys \['t_ned'\] in \[time\].*did you mean 't_end'\?"),
    ('model = "ufd"', 'modle = "ufd"', r"unknown keys \['modle'\] at the top level.*did you mean 'model'\?"),
    ("n = 64", "n = 64\nshape = [64]", r"unknown keys \['shape'\] in \[domain\] \(kind 'circle'\)"),
    ("gamma = 100", "gamma = 100\ngama = 3", r"unknown keys \['gama'\] in \[weight\]"),
    ("rtol = 1e-6", "rtol = 1e-6\nmethdo = 'BDF'", r"unknown keys \['methdo'\] in \[solver\].*'method'"),
    ('model = "ufd"', 'model = "ufdd"', r"unknown model 'ufdd'.*did you mean 'ufd'\?"),
])
def test_unknown_sections_and_keys_are_refused_with_the_nearest_name(tmp_path, old, new, match):
    with pytest.raises(ValueError, match=match) as err:
        load_problem(_toml(tmp_path, PROBLEM.replace(old, new)))
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("old, new, match", [
    ("n = 64", "n = 64.7", r"\[domain\] n must be an integer, got 64.7"),
    ("n = 64", "n = 64.0", r"\[domain\] n must be an integer, got 64.0 \(write 64\)"),
    ("outputs = 5", "outputs = 5.9", r"\[time\] outputs must be an integer, got 5.9"),
    ("t_end = 1.0", "t_end = true", r"\[time\] t_end must be a finite number, got True"),
    ("t_end = 1.0", "t_end = -1.0", r"\[time\] t_end must be > 0"),
    ("gamma = 100", "gamma = false", r"\[weight\] gamma must be a finite number, got False"),
    ("r = 2.0", 'r = "2"', r"\[parameters\] r must be a finite number"),
    ("n = 64", "", r"missing key 'n' in \[domain\] \(kind 'circle'\)"),
    ("gamma = 100", "", r"missing key 'gamma' in \[weight\] \(kind 'teacher'\)"),
    ('kind = "circle"\n', "", r"missing key 'kind' in \[domain\]"),
    ('kind = "circle"', 'kind = "circel"', r"unknown domain kind 'circel'.*did you mean 'circle'\?"),
    ('kind = "teacher"', 'kind = "uniformm"', r"unknown weight density kind 'uniformm'"),
    ("plot_times = [0, 1]", "plot_times = 1", r"\[time\] plot_times must be a list"),
    ("[domain]", "domain = 3\n[other]", r"unknown section \[other\]|\[domain\] must be a section"),
    ('kind = "circle"\nn = 64', 'kind = "box"\nx = [0, 1, 2]\ny = [0, 1]\nshape = [8, 8]',
     r"\[domain\] x must be a list of 2 entries"),
])
def test_values_have_their_types_and_required_keys_are_named(tmp_path, old, new, match):
    with pytest.raises(ValueError, match=match) as err:   # before: KeyError, silent int(), or ignored
        load_problem(_toml(tmp_path, PROBLEM.replace(old, new, 1)))
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("name", ["../escaped", "/abs/path", "", ".", "..", ".hidden", "a/b", "a b",
                                  "x\\y"])
def test_name_is_a_plain_file_stem(tmp_path, name):
    toml = _toml(tmp_path, PROBLEM.replace('name = "tiny"', f"name = {name!r}"))
    with pytest.raises(ValueError, match="plain file stem"):
        load_problem(toml)


def test_a_bad_name_writes_nothing_outside_out(tmp_path, capsys):
    toml = _toml(tmp_path, PROBLEM.replace('name = "tiny"', 'name = "../escaped"'))
    assert main(["run", str(toml), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert "plain file stem" in _error_line(capsys)
    assert not (tmp_path / "escaped.h5").exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize("old, new, match", [
    ("r = 2.0", "r = 0.5", "r must be > 1"),
    ("rtol = 1e-6", 'method = "Euler"', "unknown method"),
    ("coef = 0.5", "coef = -1.0", "coef"),
    ('kind = "teacher"\ngamma = 100', 'kind = "uniform"\n[initial]\nkind = "teacher"\ngamma = 10',
     None),
])
def test_the_whole_problem_is_checked_before_the_output_directory_is_made(tmp_path, capsys, old, new,
                                                                             match):
    toml = _toml(tmp_path, PROBLEM.replace(old, new))
    out = tmp_path / "out"
    if match is None:   # a valid problem: runs (uniform weight, teacher start, both of mass 1)
        assert main(["run", str(toml), "--out", str(out), "--quiet"]) == 0
        return
    assert main(["run", str(toml), "--out", str(out), "--quiet"]) == 2
    assert match in _error_line(capsys)
    assert not out.exists()   # before: made first, then the solver refused the problem


def test_default_problems_still_load():
    for name in ("ufd_circle", "ufd_torus"):
        problem = load_problem(find_problem(name))
        assert problem.name == name and problem.model == "ufd"


# ---- re-running into the same directory ---------------------------------------------------------

def test_a_rerun_needs_overwrite_and_never_replaces_a_foreign_file(tmp_path, capsys):
    toml, out = _toml(tmp_path), tmp_path / "out"
    assert main(["run", str(toml), "--out", str(out), "--quiet"]) == 0
    first = (out / "tiny.h5").read_bytes()
    capsys.readouterr()
    assert main(["run", str(toml), "--out", str(out), "--quiet"]) == 2
    assert "--overwrite" in _error_line(capsys)
    assert (out / "tiny.h5").read_bytes() == first   # before: silently replaced
    assert main(["run", str(toml), "--out", str(out), "--quiet", "--overwrite"]) == 0
    assert pf.load_trajectory(out / "tiny.h5").status == "complete"
    (out / "tiny.h5").unlink()
    (out / "tiny.h5").write_text("not ours")
    capsys.readouterr()
    assert main(["run", str(toml), "--out", str(out), "--quiet", "--overwrite"]) == 2
    assert "not a pdeflow trajectory" in _error_line(capsys)
    assert (out / "tiny.h5").read_text() == "not ours"


# ---- Ctrl-C and failing runs ---------------------------------------------------------------------

def _main_catching_ctrl_c(argv) -> int:
    # a KeyboardInterrupt escaping main() would stop the whole pytest session, not fail one test
    try:
        return main(argv)
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped pdeflow's main() as a traceback")

def test_ctrl_c_keeps_the_outputs_and_exits_130(tmp_path, capsys, monkeypatch):
    original, calls = pf.UltraFastDiffusion.energy, []

    def energy(self, rho):
        calls.append(1)
        if len(calls) == 3:   # Ctrl-C while computing the third output
            raise KeyboardInterrupt
        return original(self, rho)

    monkeypatch.setattr(pf.UltraFastDiffusion, "energy", energy)
    out = tmp_path / "out"
    assert _main_catching_ctrl_c(["run", str(_toml(tmp_path)), "--out", str(out), "--quiet"]) == 130
    err = _error_line(capsys)
    assert "interrupted at t = 0.25" in err and str(out / "tiny.h5") in err and "'interrupted'" in err
    saved = pf.load_trajectory(out / "tiny.h5")
    assert saved.status == "interrupted" and saved.t.tolist() == [0.0, 0.25]


def test_ctrl_c_in_validate_exits_130(tmp_path, capsys, monkeypatch):
    import pdeflow.validations as validations

    class Interrupted:
        @staticmethod
        def run(*args, **kwargs):
            raise KeyboardInterrupt

    monkeypatch.setattr(validations, "find_validation", lambda name: Interrupted)
    assert _main_catching_ctrl_c(["validate", "fig_III_2", "--out", str(tmp_path), "--quiet"]) == 130
    assert "interrupted; outputs so far kept in" in _error_line(capsys)


def test_a_failing_run_prints_one_line_and_exits_1(tmp_path, capsys, monkeypatch):
    def draining_rhs(self, t, y):
        out = np.zeros_like(y)
        out[self.position[3]] = -1.0   # cell 3 (uniform density 1/2π) empties at t = 1/2π
        out[self.position[4]] = 1.0
        return out

    monkeypatch.setattr(pf.UltraFastDiffusion, "rhs", draining_rhs)
    toml = _toml(tmp_path, PROBLEM.replace('kind = "teacher"\ngamma = 100', 'kind = "uniform"'))
    assert main(["run", str(toml), "--out", str(tmp_path / "out"), "--quiet"]) == 1
    err = _error_line(capsys)
    assert "failed:" in err and "cell (3,)" in err and "tiny.h5" in err


# ---- validations and problem names resolve only in the package ------------------------------------

def test_validate_never_runs_scripts_from_the_working_directory_or_a_path(tmp_path, capsys, monkeypatch):
    marker = tmp_path / "ran"
    evil = f"from pathlib import Path\nPath({str(marker)!r}).write_text('x')\n"
    (tmp_path / "validation").mkdir()
    (tmp_path / "validation" / "evil.py").write_text(evil)
    (tmp_path / "validation" / "fig_III_2.py").write_text(evil)
    (tmp_path / "elsewhere.py").write_text(evil)
    monkeypatch.chdir(tmp_path)
    for name in ["evil", str(tmp_path / "elsewhere"), "../" * 8 + str(tmp_path / "elsewhere")[1:],
                 str(tmp_path / "elsewhere.py")]:
        assert main(["validate", name, "--out", str(tmp_path / "o")]) == 2
        err = _error_line(capsys)
        # the package's own validations are listed, the planted script is not
        listed = err.split("available: ")[1]
        assert "'fig_III_2', 'fig_III_3_4', 'fig_III_5', 'fig_III_6'" in listed and "evil" not in listed
    assert not marker.exists()
    from pdeflow.project_files import find_named
    assert find_named("validation", "fig_III_2", ".py") == Path(pf.__file__).resolve().parent.parent / "validation" / "fig_III_2.py"


def test_problem_names_resolve_only_in_the_package_but_paths_are_fine(tmp_path, capsys, monkeypatch):
    (tmp_path / "solvers").mkdir()
    (tmp_path / "solvers" / "mine.toml").write_text(PROBLEM.replace('name = "tiny"', 'name = "mine"'))
    (tmp_path / "solvers" / "ufd_circle.toml").write_text(PROBLEM)   # would shadow the default
    monkeypatch.chdir(tmp_path)
    assert main(["run", "mine", "--out", str(tmp_path / "o")]) == 2
    listed = _error_line(capsys).split("available: ")[1]   # the package's own problems, not 'mine'
    assert "'ufd_circle', 'ufd_torus'" in listed and "mine" not in listed
    assert find_problem("ufd_circle") == Path(pf.__file__).resolve().parent.parent / "solvers" / "ufd_circle.toml"
    assert load_problem(find_problem("solvers/mine.toml")).name == "mine"   # an explicit path is data
    with pytest.raises(FileNotFoundError, match="no problem file"):
        find_problem("solvers/missing.toml")


def test_torus_shape_entries_are_integers(tmp_path):
    torus = PROBLEM.replace('kind = "circle"\nn = 64', 'kind = "torus"\nshape = [8, 8.5]').replace(
        'kind = "teacher"\ngamma = 100', 'kind = "uniform"')
    with pytest.raises(ValueError, match=r"\[domain\] shape\[1\] must be an integer, got 8.5"):
        load_problem(_toml(tmp_path, torus))
    assert load_problem(_toml(tmp_path, torus.replace("[8, 8.5]", "16"))).domain == pf.Torus(16)


def test_validate_into_a_directory_with_runs_needs_resume(tmp_path, capsys):
    from pdeflow.cli import main

    (tmp_path / "ufd.h5").write_bytes(b"")
    assert main(["validate", "fig_III_2", "--quick", "--quiet", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "already holds 1 runs" in err and "--resume" in err and err.count("\n") == 1
    assert (tmp_path / "ufd.h5").read_bytes() == b""
