"""The ``pdeflow`` command: ``run`` a problem file, ``validate`` against particles, ``bench`` the solvers."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _run(args) -> int:
    from .problems import find_problem, load_problem, run_problem

    path = find_problem(args.problem)
    problem = load_problem(path)
    print(f"pdeflow run: {problem.name} ({path})")
    traj, store, figure = run_problem(problem, Path(args.out), progress=not args.quiet)
    s = traj.stats
    print(f"  t = 0 .. {traj.t[-1]:g}: {len(traj.t)} outputs, {s['nsteps']} steps, nfev {s['nfev']}, "
          f"njev {s['njev']}, {s['wall_time']:.2f} s")
    print(f"  mass drift {abs(traj.mass[-1] - traj.mass[0]):.2e}, energy {traj.energy[0]:.6g} -> "
          f"{traj.energy[-1]:.6g}")
    print(f"  wrote {store} and {figure}")
    return 0


def _bench(args) -> int:
    from .bench import format_report, format_varpro_report, run_benchmark, run_varpro_benchmark

    if args.case == "varpro":
        print(format_varpro_report(run_varpro_benchmark(steps=args.steps)))
        return 0
    if args.case == "wasserstein":
        from .bench import format_wasserstein_report, run_wasserstein_benchmark

        report = run_wasserstein_benchmark(n=512 if args.n is None else args.n,
                                           repeats=1 if args.repeats is None else args.repeats,
                                           rtol=args.rtol, out=args.json)
        print(format_wasserstein_report(report))
        return 0
    report = run_benchmark(n=1024 if args.n is None else args.n,
                           repeats=5 if args.repeats is None else args.repeats, rtol=args.rtol,
                           fresh_reference=args.fresh_reference, out=args.json)
    print(format_report(report))
    return 0


def _validate(args) -> int:
    from .validations import find_validation

    module = find_validation(args.name)
    if args.jobs < 1:
        raise ValueError(f"--jobs must be >= 1, got {args.jobs}")
    summary = module.run(Path(args.out), quick=args.quick, progress=not args.quiet, jobs=args.jobs,
                         resume=args.resume)
    print(f"pdeflow validate {args.name}: claim holds; summary in {Path(args.out) / 'summary.json'}")
    for key, value in summary.items():
        if isinstance(value, float):
            print(f"  {key} = {value:.4g}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pdeflow", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a problem file from solvers/ (default: ufd_circle)")
    run.add_argument("problem", nargs="?", default=None,
                     help="path to a .toml problem file or the name of one in solvers/")
    run.add_argument("--out", default=".", help="directory for the HDF5 and PNG files (default: .)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(func=_run)

    bench = sub.add_parser("bench", help="time the UFD solver against the scipy BDF baseline")
    bench.add_argument("case", nargs="?", default="ufd", choices=["ufd", "varpro", "wasserstein"],
                       help="ufd: thesis UFD vs solve_ivp BDF; varpro: VarPro step vs dense numpy; "
                            "wasserstein: the lambda > 0 flow vs a dense numpy ridge solve per evaluation")
    bench.add_argument("--steps", type=int, default=20, help="VarPro steps timed (varpro case)")
    bench.add_argument("--n", type=int, default=None, help="grid cells (ufd: 1024, wasserstein: 512)")
    bench.add_argument("--repeats", type=int, default=None,
                       help="interleaved repeats (ufd: 5; wasserstein: 1, its baseline takes minutes)")
    bench.add_argument("--rtol", type=float, default=1e-6)
    bench.add_argument("--fresh-reference", action="store_true",
                       help="recompute the n = 8192 reference instead of reading data/")
    bench.add_argument("--json", type=Path, default=None, help="also write the report as JSON")
    bench.set_defaults(func=_bench)

    val = sub.add_parser("validate", help="run a validation script from validation/ (thesis figures)")
    val.add_argument("name", help="a script in validation/, e.g. fig_III_2 or fig_III_3_4")
    val.add_argument("--quick", action="store_true", help="small sizes, seconds to minutes")
    val.add_argument("--out", default="validation-out", help="directory for HDF5, PNG and summary.json")
    val.add_argument("--quiet", action="store_true", help="no progress bars")
    val.add_argument("--jobs", type=int, default=1, help="particle runs in this many processes")
    val.add_argument("--resume", action="store_true",
                     help="continue the particle runs already in --out (e.g. after an interruption)")
    val.set_defaults(func=_validate)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, OSError) as err:
        print(f"pdeflow {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
