"""The --quick COT validations (validation/cot_*.py): claims hold and the summaries carry the numbers."""

import json

import h5py
import numpy as np

from pdeflow.cli import main


def _run(name, tmp_path):
    assert main(["validate", name, "--quick", "--out", str(tmp_path), "--quiet"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert (tmp_path / f"{name}.png").stat().st_size > 10_000
    risk = np.array(summary["risk"])
    assert risk.shape[1] == 2 and risk[0, 0] == 0 and np.all(np.diff(risk[:, 1]) < 0)
    return summary, risk


def test_cot_p2_quick(tmp_path):
    s, risk = _run("cot_p2", tmp_path)
    assert risk[0, 1] == np.float64(s["risk"][0][1]) and abs(risk[0, 1] - 5.12630e-3) < 1e-8
    assert -1.1 < s["w2cot_exponent"]["stratified"] < -0.9
    strat = [s["w2cot_vs_M"]["stratified"][m] for m in ("16", "32", "64")]
    assert strat == sorted(strat, reverse=True)
    assert min(s["grid_orders"]) > 1.5 and s["q_minus_q_low_min"] > 0
    with h5py.File(tmp_path / "grid.h5") as f:
        assert f["rho"].shape == (11, 4, 64) and f["q_low"].shape == (11,)


def test_cot_p1_quick(tmp_path):
    s, _ = _run("cot_p1", tmp_path)
    for rec in s["upwind_vs_reduced"].values():
        assert rec["max_rel_diff"] <= 10 * rec["outer_cell_mass"] + 1e-8
    assert max(s["antithetic_max_rel_diff"].values()) < 1e-7
    assert abs(s["R0"] - 0.1241576) < 1e-6


def test_cot_p3_quick(tmp_path):
    s, _ = _run("cot_p3", tmp_path)
    assert s["slope_log_risk_window"] > s["min_q_low_window"] > 0 and s["slope_r2"] > 0.99
    assert s["max_boundary_mass"] < 1e-4 and s["lambda0_K1"] > 0


def test_cot_p2b_quick(tmp_path):
    s, _ = _run("cot_p2b", tmp_path)
    assert abs(s["q0"] - 0.68) < 0.01 and s["q_minus_q_low_min"] > 0
    gaps = s["particle_risk_max_rel_gap"]
    assert gaps["64"] < gaps["16"]
