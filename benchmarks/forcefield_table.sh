#!/bin/bash
# Writes benchmarks/results/forcefield_table.txt (the commands that made the runs, then forcefield_vs_aimd_table.py's table)
# and benchmarks/results/forcefield_vs_aimd.png (forcefield_figure.py: the same runs as a figure), both from the
# committed per-run records in benchmarks/results/forcefield_runs/ (one JSON file per run), and puts the table's
# "at a glance" section into README.md (between its forcefield-at-a-glance markers).
#   [RUNS=DIR] benchmarks/forcefield_table.sh   (DIR: npz trajectories to record first, for runs made without
#                                                forcefield_vs_aimd_md.py's --records; default: none)
cd "$(dirname "$0")/.."  # repository root; python = ${PYTHON:-python} with superionic importable
{ cat <<'H'
# The force-field table: MD of the seed's AIMD cells with each potential vs the seed's AIMD (60 ps per T).
# Runs of 2026-12-07 (1 thread each, on the 2-core machine shared with other work; load 3-10),
# each a line of forcefield_vs_aimd_md.py, run in this order (two or three at a time in the afternoon):
#   P="OMP_NUM_THREADS=1 python benchmarks/forcefield_vs_aimd_md.py --out $RUNS"
#   $P --force-fields sevennet-0 --temperatures 800 --seeds 20231025 --compounds mp-557892 mp-532413 mp-1222492
#   $P --force-fields sevennet-0 --temperatures 1100 --seeds 20231025 --compounds mp-1222492
#   $P --force-fields chgnet-0.3.0 --temperatures 800 --seeds 20231025 1 2 --compounds mp-532413 mp-557892 mp-1222492
#   $P --force-fields chgnet-0.3.0 --temperatures 1100 --seeds 20231025 1 2 --compounds mp-1222492
#   $P --force-fields chgnet-0.3.0 --temperatures 800 --seeds 20231025 1 2 --compounds mp-19896
#   $P --force-fields sevennet-0 --temperatures 800 --seeds 1 --compounds mp-557892
#   $P --force-fields sevennet-0 --temperatures 800 --seeds 20231025 --compounds mp-19896
#   $P --force-fields sevennet-0 --temperatures 800 --seeds 1 2 --compounds mp-1222492      (then 1100 K, seeds 1 2)
#   $P --force-fields sevennet-0 --temperatures 800 --seeds 2 --compounds mp-557892          (then mp-532413 and mp-19896, seeds 1 2)
#   $P --force-fields chgnet-0.3.0 --temperatures 800 --seeds 20231025 --compounds mp-1106183 mp-29410 mp-1195055 mp-1222404 mp-676361
#   $P --force-fields sevennet-0 --temperatures 800 --seeds 20231025 --compounds mp-1106183   mp-29410
# Runs of 2026-12-07, afternoon (two at a time, lowest priority, in this order; one line per cell):
#   $P --force-fields chgnet-r2scan --temperatures 800 --seeds 20231025 --compounds (all nine)
#   $P --force-fields sevennet-0 --temperatures 800 --seeds 20231025 --compounds mp-1222404 mp-676361
#   $P --force-fields chgnet-0.3.0 --temperatures 1100 --seeds 20231025 --compounds (the eight besides mp-1222492)
#   $P --force-fields chgnet-r2scan --temperatures 1100 --seeds 20231025 --compounds (the nine)
#   $P --force-fields sevennet-mf-0-pbe --temperatures 800 --seeds 20231025 --compounds mp-557892
#   $P --force-fields sevennet-0 --temperatures 1100 --seeds 20231025 --compounds mp-532413 mp-557892 mp-676361
# Runs of 2026-12-07 evening (two at a time, lowest priority, in this order; the first three SevenNet-0 runs eager,
# every later SevenNet run compiled: the record's "calculator" says which):
#   $P --force-fields sevennet-0 --temperatures 1100 --seeds 20231025 --compounds mp-19896 mp-29410 mp-1222404 mp-1106183 mp-1195055
#   $P --force-fields sevennet-0 --temperatures 800 --seeds 20231025 --compounds mp-1195055
#   $P --force-fields sevennet-l3i5 --temperatures 800 --seeds 20231025 --compounds mp-557892
#   $P --force-fields sevennet-mf-0-pbe --temperatures 800 --seeds 20231025 --compounds mp-532413 mp-1222492 mp-19896
#   $P --force-fields sevennet-mf-0-r2scan --temperatures 800 --seeds 20231025 --compounds mp-557892
#   $P --force-fields sevennet-mf-0-pbe --temperatures 800 --seeds 20231025 --compounds mp-676361 mp-1222404 mp-1106183 mp-29410
# Runs of 2026-12-07/08 night (two at a time, lowest priority, SevenNet compiled, in this order; one line per cell):
#   $P --force-fields sevennet-mf-0-pbe --temperatures 1100 --seeds 20231025 --compounds (all nine)
#   $P --force-fields sevennet-l3i5 --temperatures 800 --seeds 20231025 --compounds mp-1222492 mp-19896 mp-532413
#   $P --force-fields sevennet-mf-0-r2scan --temperatures 800 --seeds 20231025 --compounds mp-1222492 mp-532413 mp-19896 mp-676361 mp-1222404 mp-1106183 mp-29410
#   $P --force-fields sevennet-mf-0-r2scan --temperatures 1100 --seeds 20231025 --compounds mp-1222492
# The same seed repeats to the digit (SevenNet-0 BaLi(BS2)3 seed 20231025, run twice: intact, 4 hops, D <= 6.9e-5).
# Rows dated 2026-12-04: CHGNet 0.3.0 runs of benchmarks/results/forcefield_vs_aimd.txt (an older code path), carried.
# The trajectories of the runs before the evening's were lost with the machine on 2026-12-07 (kept outside git); their records were
# transcribed from this table as printed at commit acbdb46 (forcefield_vs_aimd_table.transcribe: "doc": null), so their
# rows, spread and figure points are those printed, and their Ea rows are carried as printed ("carried").
H
OMP_NUM_THREADS=1 PYTHONPATH=src nice -n 10 ${PYTHON:-python} benchmarks/forcefield_vs_aimd_table.py ${RUNS:+--runs "$RUNS"} 2>/dev/null | grep -v "initialized\|will run on"
} > benchmarks/results/forcefield_table.txt
OMP_NUM_THREADS=1 PYTHONPATH=src nice -n 10 ${PYTHON:-python} benchmarks/forcefield_figure.py --out benchmarks/results/forcefield_vs_aimd.png
${PYTHON:-python} - <<'PY'
from pathlib import Path
table = Path("benchmarks/results/forcefield_table.txt").read_text().split("\n\nAgainst the AIMD at a glance")[1]
glance = [line for line in table.split("\n\n")[0].splitlines() if line.startswith("|")]
readme = Path("README.md")
head, rest = readme.read_text().split("<!-- forcefield-at-a-glance -->\n")
_, tail = rest.split("<!-- /forcefield-at-a-glance -->")
readme.write_text(head + "<!-- forcefield-at-a-glance -->\n" + "\n".join(glance) + "\n<!-- /forcefield-at-a-glance -->" + tail)
PY
