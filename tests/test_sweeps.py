"""Sweeps: runs keyed by their whole configuration, references keyed by theirs, executors, resume."""

import hashlib
import json
import shutil
from dataclasses import asdict, replace

import h5py
import numpy as np
import pytest

import pdeflow as pf
from pdeflow.experiments import (CircleExperiment, particle_run, run_key, run_many, run_name, run_sweep,
                                 ufd_reference)
from pdeflow.grid_references import GridReferences, reference_key, reference_path
from pdeflow.keys import config_key

BASE = CircleExperiment(width=16, lam=1e-2, n_data=64, tau=2.0**-6, t_end=0.25, outputs=3, n_grid=64, seeds=2)


def test_config_key_is_the_sha256_of_canonical_json():
    config = {"b": 1.5, "a": [1, None, "x"], "c": {"z": 2, "y": float("inf")}}
    text = '{"a":[1,null,"x"],"b":1.5,"c":{"y":Infinity,"z":2}}'
    assert config_key(config) == hashlib.sha256(text.encode()).hexdigest()
    with pytest.raises(ValueError, match="plain JSON"):
        config_key({"a": object()})


def test_a_run_key_covers_every_field_but_the_number_of_seeds():
    fields = {k: v for k, v in asdict(BASE).items() if k != "seeds"}
    expected = hashlib.sha256(json.dumps({"experiment": fields, "run": "varpro", "seed": 1}, sort_keys=True,
                                         separators=(",", ":")).encode()).hexdigest()
    assert run_key(BASE, 1) == expected
    # the same configuration written with other types, or with more seeds, is the same run
    assert run_key(replace(BASE, gamma=100, n_grid=64.0, seeds=6), 1) == expected
    # today's readable prefix (f, M, λ, γ, seed) is shared by all of these; the key tells them apart
    others = [replace(BASE, tau=2.0**-7), replace(BASE, t_end=0.5), replace(BASE, outputs=5),
              replace(BASE, n_data=32), replace(BASE, data_seed=0), replace(BASE, n_grid=128)]
    names = {run_name(exp, 1) for exp in [BASE, *others]}
    assert len(names) == 1 + len(others)
    assert all(name.startswith("varpro_f_b_M16_lam0.01_gamma100_seed1_") for name in names)
    with pytest.raises(ValueError, match="width must be an integer"):
        replace(BASE, width=16.5)


def test_references_are_keyed_by_what_they_depend_on(tmp_path):
    # the UFD depends on γ, the grid and the output times, not on λ, f or M
    assert reference_key("ufd", replace(BASE, lam=1e-3, reg="f_u", width=8)) == reference_key("ufd", BASE)
    # another τ with the same output times is the same UFD; another horizon is not
    assert reference_key("ufd", replace(BASE, tau=2.0**-7)) == reference_key("ufd", BASE)
    assert reference_key("ufd", replace(BASE, t_end=0.5)) != reference_key("ufd", BASE)
    # the λ-flow depends on λ and f too
    flow = replace(BASE, data_seed=0)
    assert reference_key("wasserstein", replace(flow, lam=1e-3)) != reference_key("wasserstein", flow)
    with pytest.raises(ValueError, match="model must be one of"):
        reference_key("heat", BASE)
    # a sweep over t_end solves (and stores) one UFD per horizon, each at its own times
    refs = GridReferences("ufd", tmp_path)
    configs = [BASE, replace(BASE, t_end=0.5), replace(BASE, lam=1e-3)]
    solved = [refs(exp) for exp in configs]
    assert solved[2] is solved[0]
    np.testing.assert_array_equal(solved[1].t, [0.0, 0.25, 0.5])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({reference_path(tmp_path, "ufd", e).name
                                                                 for e in configs})
    assert len(list(tmp_path.iterdir())) == 2


def test_a_reference_at_other_times_is_refused():
    # before: references keyed by γ alone compared a sweep over t_end with the wrong times, silently
    other = ufd_reference(replace(BASE, t_end=0.5))
    with pytest.raises(ValueError, match="not this experiment's 3 matched times"):
        particle_run(BASE, 0, other)
    with pytest.raises(ValueError, match="function of the experiment"):
        run_sweep([BASE], {BASE.gamma: other})


def test_stored_runs_carry_their_key_and_resume_refuses_another(tmp_path):
    ufd = ufd_reference(BASE)
    run_sweep([BASE], lambda exp: ufd, out_dir=tmp_path)
    path = tmp_path / f"{run_name(BASE, 0)}.h5"
    with h5py.File(path, "r") as f:
        assert f.attrs["config_key"] == run_key(BASE, 0)
    # a file of another configuration under this run's name (renamed by hand, or a clash of the
    # name's 12 characters) is never continued
    other = replace(BASE, t_end=0.5)
    shutil.copy(path, tmp_path / "other.h5")
    with pytest.raises(ValueError, match="another configuration"):
        particle_run(other, 0, ufd_reference(other), store=tmp_path / "other.h5", resume=True)
    # without resume, stored runs are refused before any work; two runs never share a file
    with pytest.raises(FileExistsError, match="2 of the runs are already stored"):
        run_sweep([BASE], lambda exp: ufd, out_dir=tmp_path)
    with pytest.raises(ValueError, match="store of more than one run"):
        run_many([(BASE, 0, ufd, tmp_path / "x.h5"), (BASE, 1, ufd, tmp_path / "x.h5")])


def test_any_executor_with_submit_runs_the_sweep(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    refs = GridReferences("ufd")
    configs = [BASE, replace(BASE, width=8, reg="f_u")]
    local = run_sweep(configs, refs)
    with ThreadPoolExecutor(1) as pool:
        pooled = run_sweep(configs, refs, executor=pool, out_dir=tmp_path)
    for a, b in zip(local, pooled):
        assert a.keys() == b.keys()
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])
    with pytest.raises(ValueError, match="one or the other"):
        run_sweep(configs, refs, executor=pool, jobs=2)
    with pytest.raises(ValueError, match="submit method"):
        run_sweep(configs, refs, executor=object())
    assert pf.load_trajectory(tmp_path / f"{run_name(BASE, 1)}.h5").status == "complete"
