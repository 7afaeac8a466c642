#!/bin/bash
# Writes benchmarks/results/forcefield_table.txt: the commands that made the runs, then forcefield_vs_aimd_table.py's table.
cd "$(dirname "$0")/.."  # repository root; python = ${PYTHON:-python} with superionic importable
{ cat <<'H'
# The force-field table: MD of the seed's AIMD cells with each potential vs the seed's AIMD (60 ps per T).
# Runs (one MD process at a time, 1 thread, niced, on the 2-core machine shared with other jobs; load 6-13):
#   OMP_NUM_THREADS=1 nice -n 10 python benchmarks/forcefield_vs_aimd_md.py --out benchmarks/results/ff_md_runs \
#       --force-fields sevennet-0 --temperatures 800 --seeds 20231025 --compounds mp-557892 mp-19896 mp-532413 mp-1222492
#   (then the same with --temperatures 1100 --compounds mp-1222492; --seeds 1 2; the other cells and potentials: not reached)
#   chgnet-0.3.0 mp-557892 800 K of 2026-12-07: run by another session (main's script before --seeds, same protocol and seed;
#   file /tmp/ffmelt/0.3.0_mp-557892_800K.npz, copied), a rerun of the 12-04 row.
# Rows dated 2026-12-04: CHGNet 0.3.0 runs of benchmarks/results/forcefield_vs_aimd.txt (npz files gone), carried as printed there.
# Table: python benchmarks/forcefield_vs_aimd_table.py --runs benchmarks/results/ff_md_runs --carry benchmarks/results/forcefield_vs_aimd.txt
H
OMP_NUM_THREADS=1 PYTHONPATH=src nice -n 10 ${PYTHON:-python} benchmarks/forcefield_vs_aimd_table.py --runs benchmarks/results/ff_md_runs --carry benchmarks/results/forcefield_vs_aimd.txt 2>/dev/null | grep -v "initialized\|will run on"
} > benchmarks/results/forcefield_table.txt
