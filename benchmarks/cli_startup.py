"""Wall time of ``superionic --help`` and of light commands: median of 5 runs each.

Usage: python benchmarks/cli_startup.py [--runs N]

Runs the ``superionic`` console script next to this Python (else ``python -m superionic.cli``)
in a fresh process each time, from a temporary directory with an empty data directory, and
prints a table (the target for ``superionic --help`` is <= 0.5 s).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = [
    ["--help"],
    ["run", "--help"],
    ["screen", "--help"],
    ["query", "--help"],
    ["train", "--help"],
    ["md", "--help"],
    ["build", "--help"],
]


def launcher() -> list[str]:
    script = Path(sys.executable).with_name("superionic")
    if script.is_file():
        return [str(script)]
    found = shutil.which("superionic")
    return [found] if found else [sys.executable, "-m", "superionic.cli"]


def wall_times(args: list[str], runs: int, env: dict, cwd: str) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([*launcher(), *args], env=env, cwd=cwd, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "SUPERIONIC_DATA_DIR": tmp, "HOME": tmp}
        wall_times(["--help"], 1, env, tmp)  # warm the file cache
        py = [sys.executable, "-c", "pass"]
        start = time.perf_counter()
        for _ in range(runs):
            subprocess.run(py, check=True)
        baseline = (time.perf_counter() - start) / runs
        print(f"launcher: {' '.join(launcher())}")
        print(f"{'command':<28} {'median s':>9} {'min s':>7} {'max s':>7}")
        print(f"{'(python -c pass)':<28} {baseline:>9.3f}")
        for args in COMMANDS:
            t = wall_times(args, runs, env, tmp)
            print(f"{'superionic ' + ' '.join(args):<28} {statistics.median(t):>9.3f} {min(t):>7.3f} {max(t):>7.3f}")
    print(f"(median of {runs} fresh processes each; load average {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
