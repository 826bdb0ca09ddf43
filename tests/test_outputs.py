"""Figures and summaries beside the trajectories: only pdeflow's own files are ever replaced, and a
link at their name is never followed out of the folder."""

import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from pdeflow import cli  # noqa: E402
from pdeflow.outputs import is_pdeflow_figure, save_figure, write_summary_json  # noqa: E402


def _figure():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    return fig


def test_a_figure_replaces_only_an_earlier_pdeflow_figure(tmp_path):
    path = tmp_path / "fig.png"
    save_figure(_figure(), path)
    assert is_pdeflow_figure(path)
    first = path.read_bytes()
    save_figure(_figure(), path)                               # its own: replaced
    assert is_pdeflow_figure(path) and path.stat().st_mode & 0o777 == 0o666 & ~_umask()
    path.write_bytes(first[:8] + b"not a pdeflow png")          # a user's file of that name
    with pytest.raises(ValueError, match="not a figure written by pdeflow"):
        save_figure(_figure(), path)
    assert path.read_bytes() == first[:8] + b"not a pdeflow png"
    assert sorted(os.listdir(tmp_path)) == ["fig.png"]          # no temporary left behind


def test_a_link_at_the_name_is_never_followed(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "summary.json").symlink_to(outside)
    (folder / "fig.png").symlink_to(tmp_path / "missing.png")  # dangling
    with pytest.raises(ValueError, match="symbolic link"):
        write_summary_json(folder / "summary.json", {"experiment": "x"})
    with pytest.raises(ValueError, match="symbolic link"):
        save_figure(_figure(), folder / "fig.png")
    assert outside.read_text() == "keep me" and not (tmp_path / "missing.png").exists()


def test_a_summary_replaces_only_a_pdeflow_summary(tmp_path):
    path = tmp_path / "summary.json"
    write_summary_json(path, {"experiment": "fig_III_2", "mmd": 0.5})
    write_summary_json(path, {"experiment": "fig_III_14", "mmd": 0.25})   # validations share a folder
    assert json.loads(path.read_text()) == {"experiment": "fig_III_14", "mmd": 0.25}
    path.write_text('{"my": "notes"}')
    with pytest.raises(ValueError, match="not a summary written by pdeflow"):
        write_summary_json(path, {"experiment": "fig_III_2"})
    assert path.read_text() == '{"my": "notes"}'
    with pytest.raises(ValueError, match="'experiment' entry"):
        write_summary_json(tmp_path / "other.json", {"mmd": 1.0})


def test_validate_and_run_refuse_a_users_file_before_any_work(tmp_path, capsys):
    out = tmp_path / "val"
    out.mkdir()
    (out / "summary.json").write_text("my notes")
    assert cli.main(["validate", "fig_III_14", "--quick", "--quiet", "--out", str(out)]) == 2
    assert sorted(os.listdir(out)) == ["summary.json"] and (out / "summary.json").read_text() == "my notes"
    assert "not a summary written by pdeflow" in capsys.readouterr().err
    run = tmp_path / "run"
    run.mkdir()
    (run / "ufd_circle.png").write_text("my png")
    assert cli.main(["run", "--out", str(run), "--overwrite", "--quiet"]) == 2
    assert sorted(os.listdir(run)) == ["ufd_circle.png"] and (run / "ufd_circle.png").read_text() == "my png"


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
