#!/bin/bash
# The whole force-field grid of issue 19 in parallel: every potential x the nine seed cells x 800 and
# 1100 K x three velocity seeds, one forcefield_vs_aimd_md.py process per run, JOBS at a time (existing
# run files are skipped, so an interrupted grid resumes). On this 2-core machine it is ~90 CPU-hours
# (from benchmarks/results/forcefield_cost_seed_cells.txt, 42 of them SevenNet-l3i5); on a 16-core machine
# JOBS=16 runs it ~8x faster. (The CHGNet path loads on the CPU; SevenNet takes atomate2's default device:
# whether a GPU speeds it up is not measured.)
#   RUNS=DIR JOBS=N DATA=.../shared/data [POTENTIALS="chgnet-0.3.0 sevennet-0"] benchmarks/forcefield_grid.sh
# then: RUNS=DIR benchmarks/forcefield_table.sh
cd "$(dirname "$0")/.."
RUNS=${RUNS:-benchmarks/results/ff_md_runs}
JOBS=${JOBS:-$(nproc)}
DATA=${DATA:-../shared/data}
POTENTIALS=${POTENTIALS:-"chgnet-0.3.0 chgnet-r2scan sevennet-0 sevennet-mf-0-pbe sevennet-mf-0-r2scan sevennet-l3i5"}
CELLS="mp-557892 mp-19896 mp-532413 mp-1222492 mp-676361 mp-1222404 mp-1106183 mp-29410 mp-1195055"
for seed in 20231025 1 2; do for t in 800 1100; do for ff in $POTENTIALS; do for cell in $CELLS; do
    [ -e "$RUNS/${ff}_${cell}_${t}K_s${seed}.npz" ] || echo "$ff $t $seed $cell"
done; done; done; done | OMP_NUM_THREADS=1 PYTHONPATH=src xargs -P "$JOBS" -L 1 sh -c \
    '${PYTHON:-python} benchmarks/forcefield_vs_aimd_md.py --data "'"$DATA"'" --out "'"$RUNS"'" --force-fields "$0" --temperatures "$1" --seeds "$2" --compounds "$3"'
