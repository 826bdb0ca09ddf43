"""The ``pdeflow`` command: ``run`` a problem file, ``validate`` against particles, ``bench`` the solvers.

Exit codes: 0 success; 1 a run that failed (:class:`pdeflow.IntegrationError`, or a
validation whose claim does not hold); 2 bad input or a file problem (``ValueError``,
``OSError``), reported before any work; 130 interrupted (Ctrl-C), with every output saved
so far kept.  Every error is one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import nullcontext
from pathlib import Path

EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 1, 2, 130


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split("\n"))


def _run(args) -> int:
    from .problems import check_problem, find_problem, load_problem, output_paths, run_problem

    path = find_problem(args.problem)
    problem = load_problem(path)
    check_problem(problem)
    args.kept_in = output_paths(problem, Path(args.out))[0]
    print(f"pdeflow run: {problem.name} ({path})")
    traj, store, figure = run_problem(problem, Path(args.out), progress=not args.quiet,
                                      overwrite=args.overwrite, how_to_overwrite="rerun with --overwrite")
    s = traj.stats
    print(f"  t = 0 .. {traj.t[-1]:g}: {len(traj.t)} outputs, {s['nsteps']} steps, nfev {s['nfev']}, "
          f"njev {s['njev']}, {s['wall_time']:.2f} s")
    scalar = "energy" if "energy" in traj.data else "risk"   # what the model's flow decreases
    print(f"  mass drift {abs(traj.mass[-1] - traj.mass[0]):.2e}, {scalar} {traj.data[scalar][0]:.6g} -> "
          f"{traj.data[scalar][-1]:.6g}")
    print(f"  wrote {store} and {figure}")
    return 0


def _bench_ufd(args) -> str:
    from .bench import format_report, run_benchmark

    return format_report(run_benchmark(n=1024 if args.n is None else args.n,
                                       repeats=5 if args.repeats is None else args.repeats,
                                       rtol=args.rtol, fresh_reference=args.fresh_reference,
                                       out=args.json))


def _bench_varpro(args) -> str:
    from .bench import write_report
    from .bench_varpro import DOMAINS, format_varpro_report, run_varpro_benchmark

    domains = list(DOMAINS) if args.domain == "all" else [args.domain]
    reports = [run_varpro_benchmark(domain, steps=args.steps, repeats=3 if args.repeats is None else args.repeats,
                                    long_steps=args.long_steps)
               for domain in domains]
    write_report(reports, args.json)
    return "\n".join(format_varpro_report(rep) for rep in reports)


def _bench_wasserstein(args) -> str:
    from .bench import format_wasserstein_report, run_wasserstein_benchmark

    return format_wasserstein_report(run_wasserstein_benchmark(
        n=512 if args.n is None else args.n, repeats=1 if args.repeats is None else args.repeats,
        rtol=args.rtol, out=args.json))


def _bench_cot(args) -> str:
    from .bench import format_cot_report, run_cot_benchmark

    return format_cot_report(run_cot_benchmark(repeats=5 if args.repeats is None else args.repeats, out=args.json))


def _bench_ufd2d(args) -> str:
    from .bench import format_ufd2d_report, run_ufd2d_benchmark

    return format_ufd2d_report(run_ufd2d_benchmark(
        n=128 if args.n is None else args.n, repeats=1 if args.repeats is None else args.repeats,
        rtol=args.rtol, large_n=args.large_n, fresh_reference=args.fresh_reference, out=args.json))


#: ``pdeflow bench CASE``: each case runs its benchmark and returns the report's text.
BENCH_CASES = {"ufd": _bench_ufd, "ufd2d": _bench_ufd2d, "varpro": _bench_varpro,
               "wasserstein": _bench_wasserstein, "cot": _bench_cot}


def _bench(args) -> int:
    from .bench import check_report_path

    check_report_path(args.json)      # before minutes of timing: a report never replaces a file
    print(BENCH_CASES[args.case](args))
    return 0


def _validate(args) -> int:
    from .validations import find_validation

    if args.jobs < 1:
        raise ValueError(f"--jobs must be >= 1, got {args.jobs}")
    module = find_validation(args.name)
    earlier = sorted(Path(args.out).glob("*.h5")) if Path(args.out).is_dir() else []
    if earlier and not args.resume:
        # every run of a validation is kept as HDF5; replacing them silently would lose hours
        raise FileExistsError(f"--out {args.out} already holds {len(earlier)} runs (e.g. {earlier[0].name}): "
                              "add --resume to continue and reuse them, or choose another --out")
    # the summary and the figure are written at the end: refuse a user's file (or a link) there
    # now, not after hours of runs
    from .outputs import check_replaceable, is_pdeflow_figure, is_pdeflow_summary

    out = Path(args.out)
    for name, ours, what in (("summary.json", is_pdeflow_summary, "summary"),
                             (f"{args.name}.json", is_pdeflow_summary, "summary"),
                             (f"{args.name}.png", is_pdeflow_figure, "figure")):
        check_replaceable(out / name, ours, what)
    args.kept_in = out
    if args.scheduler is None:
        runs_on, jobs = nullcontext(None), args.jobs
    else:
        from .cluster import dask_client

        # --jobs sizes a local cluster; the runs then go to its workers, not to processes of ours
        runs_on, jobs = dask_client(args.scheduler, workers=args.jobs), 1
    with runs_on as executor:
        summary = module.run(Path(args.out), quick=args.quick, progress=not args.quiet, jobs=jobs,
                             resume=args.resume, executor=executor)
    print(f"pdeflow validate {args.name}: claim holds; summary in {Path(args.out) / 'summary.json'}")
    for key, value in summary.items():
        if isinstance(value, float):
            print(f"  {key} = {value:.4g}")
    return 0


def _saved_so_far(store: Path | None) -> str:
    """Where a stopped ``run`` left its outputs, read back from the trajectory file."""
    from .io import load_trajectory

    if store is None or not store.is_file():
        return "before any output was saved"
    try:
        saved = load_trajectory(store)
    except (ValueError, OSError):
        return f"outputs so far kept in {store}"
    if saved.t.size == 0:
        return f"before the first output; {store} holds none"
    return f"at t = {saved.t[-1]:g}; outputs so far kept in {store} (status {saved.status!r})"


def _interrupted(args) -> str:
    kept_in = getattr(args, "kept_in", None)
    if args.command == "run":
        return f"interrupted {_saved_so_far(kept_in)}"
    if args.command == "validate" and kept_in is not None:
        return f"interrupted; outputs so far kept in {kept_in} (continue with --resume)"
    return "interrupted"


def _at_least(minimum: int):
    """An argparse type: an integer >= ``minimum`` (argparse names the flag in its error)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value
    parse.__name__ = f"integer >= {minimum}"
    return parse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pdeflow", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a problem file from solvers/ (default: ufd_circle)")
    run.add_argument("problem", nargs="?", default=None,
                     help="path to a .toml problem file or the name of one in pdeflow's solvers/")
    run.add_argument("--out", default=".", help="directory for the HDF5 and PNG files (default: .)")
    run.add_argument("--overwrite", action="store_true",
                     help="replace <name>.h5 and <name>.png of an earlier run in --out")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(func=_run)

    bench = sub.add_parser("bench", help="time a solver against a baseline in the same run (ufd, ufd2d, varpro, "
                                         "wasserstein, cot)")
    bench.add_argument("case", nargs="?", default="ufd", choices=list(BENCH_CASES),
                       help="ufd: thesis UFD vs solve_ivp BDF; ufd2d: torus UFD, the 2-D default vs BDF; "
                            "varpro: VarPro it/s vs dense numpy, and default threads vs one, beside busy cores; "
                            "wasserstein: the lambda > 0 flow vs a dense numpy ridge solve per evaluation; "
                            "cot: COT P2 grid and ResNet vs numpy + RK45")
    bench.add_argument("--steps", type=_at_least(1), default=30, help="VarPro steps per timed run (varpro case)")
    bench.add_argument("--long-steps", type=_at_least(0), default=300,
                       help="varpro case: also the sustained rate of the steps after --steps, this many (0: skip)")
    bench.add_argument("--domain", choices=["circle", "torus", "all"], default="all",
                       help="varpro case: the circle (ReLU), the torus (Laplace) or both")
    bench.add_argument("--n", type=_at_least(3), default=None,
                       help="grid cells (ufd: 1024, wasserstein: 512; ufd2d: 128 per axis)")
    bench.add_argument("--repeats", type=_at_least(1), default=None,
                       help="interleaved repeats (ufd: 5; varpro: 3; wasserstein, ufd2d: 1, their baselines "
                            "take minutes)")
    bench.add_argument("--large-n", type=_at_least(3), default=None,
                       help="ufd2d: also time the default alone on a LARGE_N x LARGE_N grid (e.g. 256)")
    bench.add_argument("--rtol", type=float, default=1e-6,
                       help="relative tolerance of both sides (ufd, ufd2d, wasserstein; default 1e-6)")
    bench.add_argument("--fresh-reference", action="store_true",
                       help="recompute the reference (ufd: n = 8192; ufd2d: rtol = 1e-9) instead of reading the "
                            "one shipped in data/ or computed earlier (kept in $XDG_CACHE_HOME/pdeflow, "
                            "~/.cache/pdeflow)")
    bench.add_argument("--json", type=Path, default=None, help="also write the report as JSON")
    bench.set_defaults(func=_bench)

    val = sub.add_parser("validate", help="run a validation script of pdeflow's validation/ (thesis figures)")
    from .validations import available_validations

    val.add_argument("name", help="a script of pdeflow's validation/: " + ", ".join(available_validations()))
    val.add_argument("--quick", action="store_true", help="small sizes, seconds to a few minutes")
    val.add_argument("--out", default="validation-out",
                     help="directory for HDF5, PNG and summary.json (default: validation-out)")
    val.add_argument("--quiet", action="store_true", help="no progress bars")
    val.add_argument("--jobs", type=int, default=1,
                     help="particle runs in this many processes (with --scheduler local: workers)")
    val.add_argument("--scheduler", default=None, metavar="ADDRESS|local",
                     help="send the particle runs to a dask.distributed scheduler at ADDRESS, or to a "
                          "LocalCluster started here ('local'); needs pip install -e '.[dask]'")
    val.add_argument("--resume", action="store_true",
                     help="continue the particle runs already in --out (e.g. after an interruption)")
    val.set_defaults(func=_validate)

    args = parser.parse_args(argv)
    from .errors import MissingExtraError
    from .integrators import IntegrationError

    try:
        return args.func(args)
    except KeyboardInterrupt:
        print(f"pdeflow {args.command}: {_interrupted(args)}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except AssertionError as err:
        if args.command != "validate":
            raise
        # experiments.check_claim: the figure's claim does not hold (outputs are kept for a look)
        print(f"pdeflow validate {args.name}: claim does not hold: {_one_line(err)}", file=sys.stderr)
        return EXIT_FAILED
    except IntegrationError as err:
        kept = _saved_so_far(getattr(args, "kept_in", None)) if args.command == "run" else ""
        print(f"pdeflow {args.command}: failed: {_one_line(err)}" + (f"; stopped {kept}" if kept else ""),
              file=sys.stderr)
        return EXIT_FAILED
    except (ValueError, OSError, MissingExtraError) as err:
        print(f"pdeflow {args.command}: error: {_one_line(err)}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
