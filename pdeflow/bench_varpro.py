"""``pdeflow bench varpro``: VarPro iterations per second on the circle and the torus (docs: theory/particles).

Problem: the thesis' teacher–student problem (γ = 100, N = M̄ = 4096) on the circle (ReLU
features) or the torus ℝ²/4ℤ² (Laplace features), M = 1024 particles from a uniform i.i.d.
start, λ = 10⁻³, f_u, τ = 2⁻¹⁰.  Timed: ``steps`` steps of :func:`pdeflow.run_varpro`, as a
user runs them, and the sustained rate further on (steps ``steps`` to ``steps + long_steps``
of the same run, resumed from its checkpoint, which continues it bit for bit): the first
steps carry the start-up (first preconditioner, the particles' fastest moves), a thesis run
has 20480 steps.  Two comparisons, each interleaved so that both sides see the same load:

* against a plain numpy baseline of the same method (the N × M feature matrix and its
  gradients formed with numpy, the projection solved densely at every step, BLAS on one
  thread), with the largest position difference between the two after ``steps`` steps;
* the default thread settings against one thread (numba and BLAS), on a machine left as it
  is, and with a busy-loop process on every other core (a sweep or any other work running
  beside the run): the default should never lose to one thread.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from .domains import Circle, Torus
from .scalars import as_count

GAMMA = 100.0
#: Feature spaces of the benchmark (their grids are not used: the particles carry the method).
DOMAINS: dict[str, Callable] = {"circle": lambda: Circle(8), "torus": lambda: Torus((8, 8), 4.0)}


def _numpy_features(kind: str, omega: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A (N, M) and ∇_ωA (dim, N, M) with numpy: ReLU on the circle, Laplace (L = 4, s = ½) on the torus."""
    if kind == "circle":
        z = x[:, :1] * np.cos(omega) + x[:, 1:] * np.sin(omega)
        return np.maximum(z, 0.0), ((z > 0) * (x[:, 1:] * np.cos(omega) - x[:, :1] * np.sin(omega)))[None]
    diff = omega[None, :, :] - x[:, None, :]
    diff -= 4.0 * np.floor((diff + 2.0) / 4.0)
    r = np.sqrt((diff**2).sum(axis=-1))
    A = 8.0 * np.exp(-2.0 * r)
    with np.errstate(invalid="ignore", divide="ignore"):
        g = np.where(r > 0, -2.0 * A / r, 0.0)
    return A, np.moveaxis(g[..., None] * diff, -1, 0)


def _numpy_varpro_steps(domain, omega, x, y, lam: float, shift: float, tau: float, steps: int) -> np.ndarray:
    """The baseline: ``steps`` VarPro steps with the projection solved densely each time (numpy)."""
    n, m = x.shape[0], omega.shape[0]
    for _ in range(steps):
        A, dA = _numpy_features(domain.kind, omega, x)
        S = A.T @ A / (m * n) + lam * np.eye(m)
        u = np.linalg.solve(S, A.T @ y / n + lam * shift)
        resid = y - A @ u / m
        grad = np.stack([d.T @ resid for d in dA], axis=-1) / n
        velocity = u[:, None] * grad / lam
        omega = domain.wrap(omega + tau * (velocity[:, 0] if omega.ndim == 1 else velocity))
    return omega


@contextmanager
def busy_cores(count: int) -> Iterator[list[int]]:
    """``count`` busy-loop processes (the ids it yields) for the duration of the block."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        time.sleep(0.3)   # let them start spinning
        yield [p.pid for p in procs]
    finally:
        for p in procs:
            p.kill()
            p.wait()


@contextmanager
def one_thread() -> Iterator[None]:
    """numba and BLAS on one thread inside the block (what ``NUMBA_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1`` do)."""
    import numba
    from threadpoolctl import threadpool_limits

    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        numba.set_num_threads(before)


@contextmanager
def _default_threads() -> Iterator[None]:
    yield


def _timed(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """Seconds of each run, ``repeats`` times, interleaved."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return times


def _rates(times: list[float], steps: int) -> dict:
    return {"best_it_s": steps / min(times), "median_it_s": steps / float(np.median(times)), "all_s": times}


def run_varpro_benchmark(domain: str = "torus", width: int = 1024, n_data: int = 4096, steps: int = 30,
                         lam: float = 1e-3, reg: str = "f_u", repeats: int = 3, seed: int = 0,
                         contended: bool = True, long_steps: int = 300) -> dict:
    """VarPro iterations per second on ``domain``: pdeflow vs plain numpy, default threads vs one.

    Parameters
    ----------
    domain : {"circle", "torus"}
        Feature space (:data:`DOMAINS`).
    width, n_data : int
        M particles and N = M̄ data.
    steps : int
        Steps of each timed run.
    lam, reg : float, str
        Ridge λ and regularisation (f_b or f_u: the baseline solves the quadratic projection).
    repeats : int
        Interleaved repeats of every timing.
    seed : int
        Seed of the problem and of the uniform start.
    contended : bool
        Also time default vs one thread with a busy loop on every other core.
    long_steps : int
        Steps of the sustained-rate timing (0: none): the run of ``steps`` steps is saved,
        then resumed up to ``steps + long_steps`` steps, ``repeats`` times.

    Returns
    -------
    dict
        ``problem``; ``pdeflow`` and ``numpy`` rates (best and median it/s over the repeats),
        ``speedup_best``/``speedup_median`` and ``max_position_gap`` (after ``steps`` steps);
        ``long`` (if ``long_steps``): ``first_step``, ``steps``, the rates of pdeflow over
        those steps and their ratio to the numpy rate above (``speedup_best``/``_median``;
        the baseline's steps all cost the same, so its rate over ``steps`` steps is its rate);
        ``threads``: ``alone`` and (if ``contended``) ``contended``, each with the rates of
        ``default`` and ``one_thread`` and their ratio ``default_over_one``.
    """
    from .particles import make_teacher_student, run_varpro
    from .particles.regularizers import regularizer

    if domain not in DOMAINS:
        raise ValueError(f"domain must be one of {sorted(DOMAINS)}, got {domain!r}")
    long_steps = as_count(long_steps, "long_steps", minimum=0)
    if not regularizer(reg).quadratic:
        raise ValueError(f"reg must be f_b or f_u (the baseline solves a linear projection), got {reg!r}")
    shift = regularizer(reg).shift
    space = DOMAINS[domain]()
    rng = np.random.default_rng(seed)
    problem = make_teacher_student(space, GAMMA, n_data, n_data, rng)
    if space.ndim == 1:
        omega0 = rng.uniform(space.lower[0], space.upper[0], width)
    else:
        omega0 = rng.uniform(space.lower, space.upper, (width, space.ndim))
    tau = 2.0**-10

    def ours():
        return run_varpro(problem, omega0, lam=lam, reg=reg, tau=tau, steps=steps, save_every=steps)

    def baseline():
        # on one thread: OpenBLAS's threads keep spinning after a call and would slow the next timing
        with one_thread():
            return _numpy_varpro_steps(space, omega0, problem.x, problem.y, lam, shift, tau, steps)

    run_varpro(problem, omega0, lam=lam, reg=reg, tau=tau, steps=2)   # compile / load the kernels
    report: dict = {"problem": {"domain": domain, "M": width, "N": n_data, "steps": steps, "lam": lam,
                                "reg": reg, "tau": tau, "gamma": GAMMA, "repeats": repeats,
                                "cores": os.cpu_count()}}
    last: dict = {}
    times = _timed({"pdeflow": lambda: last.__setitem__("pdeflow", ours()),
                    "numpy": lambda: last.__setitem__("numpy", baseline())}, repeats)
    for name, ts in times.items():
        report[name] = _rates(ts, steps)
    report["speedup_best"] = report["pdeflow"]["best_it_s"] / report["numpy"]["best_it_s"]
    report["speedup_median"] = report["pdeflow"]["median_it_s"] / report["numpy"]["median_it_s"]
    gap = last["pdeflow"].positions[-1] - last["numpy"]
    periods = np.asarray(space.lengths)[None] if gap.ndim > 1 else space.lengths[0]
    gap -= periods * np.round(gap / periods)
    report["max_position_gap"] = float(np.abs(gap).max())
    if long_steps:
        report["long"] = _sustained_rate(problem, omega0, lam, reg, tau, steps, long_steps, repeats)
        for kind in ("best", "median"):
            report["long"][f"speedup_{kind}"] = (report["long"]["pdeflow"][f"{kind}_it_s"]
                                                 / report["numpy"][f"{kind}_it_s"])

    def threaded(setting):
        def run():
            with setting():
                ours()
        return run

    report["threads"] = {}
    settings = {"default": threaded(_default_threads), "one_thread": threaded(one_thread)}
    cases = [("alone", 0)] + ([("contended", max(1, (os.cpu_count() or 1) - 1))] if contended else [])
    for case, busy in cases:
        with busy_cores(busy):
            ts = _timed(settings, repeats)
        rec = {name: _rates(t, steps) for name, t in ts.items()}
        rec["busy_processes"] = busy
        rec["default_over_one_best"] = rec["default"]["best_it_s"] / rec["one_thread"]["best_it_s"]
        rec["default_over_one_median"] = rec["default"]["median_it_s"] / rec["one_thread"]["median_it_s"]
        report["threads"][case] = rec
    return report


def _sustained_rate(problem, omega0, lam: float, reg: str, tau: float, first: int, steps: int,
                    repeats: int) -> dict:
    """Rates of steps ``first`` to ``first + steps`` of one run: saved at ``first``, resumed ``repeats`` times."""
    from .particles import run_varpro

    kwargs = dict(lam=lam, reg=reg, tau=tau)
    with tempfile.TemporaryDirectory(prefix="pdeflow-bench-") as tmp:
        start = Path(tmp) / "start.h5"
        run_varpro(problem, omega0, steps=first, save_every=first, store=start, **kwargs)
        times = []
        for k in range(repeats):
            copy = Path(tmp) / f"long{k}.h5"
            shutil.copyfile(start, copy)
            begin = time.perf_counter()
            run = run_varpro(problem, omega0, steps=first + steps, save_every=first + steps, store=copy,
                             resume=True, **kwargs)
            times.append(time.perf_counter() - begin)
            if run.stats.get("resumed_at_step") != first:
                raise RuntimeError(f"the sustained-rate run resumed at step {run.stats.get('resumed_at_step')}, "
                                   f"not {first}")
    return {"first_step": first, "steps": steps, "pdeflow": _rates(times, steps)}


def format_varpro_report(rep: dict) -> str:
    p = rep["problem"]
    lines = [f"VarPro on the {p['domain']}: M={p['M']}, N={p['N']}, {p['reg']}, lambda={p['lam']:g}, "
             f"tau=2^-10, {p['steps']} steps per run, {p['repeats']} interleaved repeats, {p['cores']} cores",
             f"  pdeflow run_varpro                    best {rep['pdeflow']['best_it_s']:8.1f} it/s  "
             f"median {rep['pdeflow']['median_it_s']:8.1f} it/s",
             f"  numpy (dense A, dA, solve; 1 thread) best {rep['numpy']['best_it_s']:8.1f} it/s  "
             f"median {rep['numpy']['median_it_s']:8.1f} it/s",
             f"  speed-up {rep['speedup_best']:.1f}x (best), {rep['speedup_median']:.1f}x (median); largest "
             f"position difference after {p['steps']} steps {rep['max_position_gap']:.1e}"]
    if "long" in rep:
        lg = rep["long"]
        span = f"steps {lg['first_step']}-{lg['first_step'] + lg['steps']}"
        lines.append(f"  pdeflow sustained, {span:18s} best {lg['pdeflow']['best_it_s']:8.1f} it/s  median "
                     f"{lg['pdeflow']['median_it_s']:8.1f} it/s  ({lg['speedup_best']:.1f}x / "
                     f"{lg['speedup_median']:.1f}x the numpy rate; resumed from step {lg['first_step']})")
    for case, rec in rep["threads"].items():
        where = "machine as it is" if case == "alone" else f"{rec['busy_processes']} busy-loop process(es)"
        lines.append(f"  threads, {where:26s} default {rec['default']['median_it_s']:8.1f} it/s  one thread "
                     f"{rec['one_thread']['median_it_s']:8.1f} it/s  (medians; default/one "
                     f"{rec['default_over_one_median']:.2f} median, {rec['default_over_one_best']:.2f} best)")
    return "\n".join(lines)
