#!/usr/bin/env python3
"""Wall time against CPU time of the whole suite on the in-process emulator.

Virtual time means the suite waits for nothing real: `mtg run --jobs 1`
should take about as long on the wall clock as it computes (the issue's bar:
wall at most 3x CPU; before virtual time it was about 30x). Also times the
scenario that waits a full minute for PHYTIMEOUT without any clock control.
Prints figures only: shared machines are too noisy for a timed gate.

usage: ci/suite-time.py [path/to/mtg]   (default: target/release/mtg)
"""
import os
import resource
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MTG = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "release", "mtg")


def timed(args):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.run(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        sys.exit(f"suite-time: {' '.join(args)} exited with {proc.returncode}")
    return wall, cpu


def main():
    if not os.access(MTG, os.X_OK):
        sys.exit(f"suite-time: {MTG} not found; build it with `cargo build --release --bin mtg`")
    out = os.path.join(ROOT, "target", "suite-time")
    wall, cpu = timed([MTG, "run", "--jobs", "1", "--out", out])
    print(f"suite, --jobs 1:        wall {wall:6.2f} s   cpu {cpu:6.2f} s   wall/cpu {wall / max(cpu, 1e-3):5.2f}  (bar: <= 3)")
    wall, cpu = timed([MTG, "run", "--jobs", "1", "--exact", "ch2s.phytimeout.gprs-waited", "--out", out + "-phy"])
    print(f"1-minute PHYTIMEOUT:    wall {wall:6.2f} s   cpu {cpu:6.2f} s   (bar: well under 1 s of wall time)")


if __name__ == "__main__":
    main()
