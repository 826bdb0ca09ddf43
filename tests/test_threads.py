"""Thread counts: a kernel runs on whichever count has been faster, and its result never depends on it."""

import os
import subprocess
import sys

import pytest

from pdeflow.threads import ThreadCountChooser, chooser_for, side_thread

_CHOOSER_SCRIPT = """
import sys
import numba
from pdeflow.threads import ThreadCountChooser

now = [0.0]
cost = {}                         # seconds per call on one thread and on two

def clock():
    return now[0]

def kernel(log):
    count = numba.get_num_threads()
    log.append(count)
    now[0] += cost[count]

chooser = ThreadCountChooser(probe_every=4, window=3, clock=clock, max_gap=float(sys.argv[1]))
phases = []
for one, two, calls in [(1.0, 1.25, 12),    # two threads a little slower
                        (1.0, 3.0, 24),     # two threads three times slower (a busy core)
                        (3.0, 1.0, 12),     # the other core frees up
                        (1.0, 3.0, 300),    # busy again, for long: the probes of two back off
                        (1.0, 0.5, 400)]:   # freed: only probes can see it
    cost[1], cost[2] = one, two
    log = []
    for _ in range(calls):
        chooser(kernel, log)
    phases.append("".join(map(str, log)))
print(numba.get_num_threads(), *phases)
numba.set_num_threads(1)
log = []
for _ in range(5):
    chooser(kernel, log)
print("".join(map(str, log)))
"""


def _chooser_phases(max_gap: float) -> list[str]:
    env = dict(os.environ, NUMBA_NUM_THREADS="2")
    done = subprocess.run([sys.executable, "-c", _CHOOSER_SCRIPT, str(max_gap)], env=env, capture_output=True,
                          text=True, check=True)
    return done.stdout.split()


def test_chooser_runs_the_faster_count_and_probes_the_other():
    threads, close, far, freed, busy, recovered, single = _chooser_phases(max_gap=100.0)
    assert threads == "2"                    # numba's setting restored after every call
    # both counts tried first (two, then one), each twice as its first call is not timed;
    # then one thread, with two every fourth call
    assert close == "221211121112"
    # two threads' median (last three) reaches 3 after two probes (calls 16 and 20): from
    # then on, over 1.5 times one thread's, each probe that finds them still that slow doubles
    # the gap to the next (8 calls to call 28, then 16)
    assert far == "111211121111111211111111"
    # one thread slows down: after two of its calls (37, 38) its median ties two's, a tie goes
    # to two threads, and that change of preference brings probes back to every fourth call
    # (42); the probe finds one thread three times slower, so the next gap is 8 (call 50, in
    # the next phase)
    assert freed == "112221222222"
    # busy again: two threads' median needs two slow calls to reach 3, a tie goes to them, and
    # one thread (probed at call 50, then 16 calls later) takes over at call 66; from then on
    # each probe of two finds them still three times slower and doubles the gap: 32, 64, then
    # the cap of max_gap = 100 s at 1 s a call
    assert busy == "2" + "1" + "2" * 15 + "1" * 32 + "2" + "1" * 63 + "2" + "1" * 99 + "2" + "1" * 86
    # two threads speed up (0.5 s against 1 s): the first probe after it moves their median
    # (last three) not yet, the second (100 calls later) does, and they run from then on —
    # noticed after 113 calls, within ⌈window/2⌉·max_gap = 200 s of work
    assert recovered == "1" * 13 + "2" + "1" * 99 + "2" * 200 + "1" + "2" * 86
    assert single == "11111"                 # numba on one thread: nothing to choose


def test_chooser_probes_at_least_every_max_gap_seconds():
    # a call costs 1 s on one thread: with max_gap = 6 s the gap between probes stops growing
    # at 6 calls (probes at calls 16, 20, then 26 and 32 instead of 28 and 44)
    _, close, far, freed, *_ = _chooser_phases(max_gap=6.0)
    assert close == "221211121112"
    assert far == "111211121111121111121111"


@pytest.mark.parametrize("kwargs, match", [
    ({"probe_every": 1}, "probe_every"), ({"probe_every": 2.5}, "probe_every"), ({"probe_every": "8"}, "probe_every"),
    ({"window": 0}, "window"), ({"window": True}, "window"), ({"max_interval": 8}, "max_interval"),
    ({"max_gap": 0.0}, "max_gap"), ({"max_gap": float("nan")}, "max_gap"), ({"max_gap": float("inf")}, "max_gap"),
    ({"max_gap": "2"}, "max_gap"),
    ({"clock": 1.0}, "clock")])
def test_chooser_refuses_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ThreadCountChooser(**kwargs)


def test_side_thread_is_kept():
    assert side_thread() is side_thread()
    assert side_thread().submit(lambda: 41 + 1).result() == 42


def test_choosers_are_kept_per_kind_of_work():
    first = chooser_for(("a kernel", (4, 3)))
    assert chooser_for(("a kernel", (4, 3))) is first
    assert chooser_for(("a kernel", (5, 3))) is not first
