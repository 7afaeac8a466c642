#!/bin/bash
# The force-field grid of issue 19 in parallel: every potential x the nine seed cells x 800 and 1100 K x
# the velocity SEEDS, one forcefield_vs_aimd_md.py process per run, JOBS at a time (runs with a record in
# benchmarks/results/forcefield_runs/ are skipped, so an interrupted grid resumes, on any clone). SEEDS=20231025 is the table the issue asks for (one run per
# potential, cell and T); the default adds seeds 1 and 2. PLAN=1 only lists the runs left and their CPU-hours
# here, from benchmarks/results/forcefield_cost_seed_cells.txt (1 thread, 1,600 force calls per run: 100
# relaxation + 250 equilibration + 1,250 production steps); on a 16-core machine JOBS=16 runs ~8x faster.
# SevenNet's eager costs there are divided by the median compile speed-up of sevennet_compile_speed.txt (the
# runs compile SevenNet: SevenNet-0 ~2x less, MF-0 ~1.5x, l3i5 the same). (The CHGNet path loads on the CPU; SevenNet takes a GPU where there is one: not measured.)
#   RUNS=DIR JOBS=N DATA=.../shared/data [SEEDS="20231025"] [POTENTIALS="chgnet-0.3.0 sevennet-0"] [PLAN=1] benchmarks/forcefield_grid.sh
# then: benchmarks/forcefield_table.sh (each run writes its record as it ends; RUNS keeps the trajectories)
cd "$(dirname "$0")/.."
RUNS=${RUNS:-benchmarks/results/ff_md_runs}
JOBS=${JOBS:-$(nproc)}
DATA=${DATA:-../shared/data}
SEEDS=${SEEDS:-"20231025 1 2"}
POTENTIALS=${POTENTIALS:-"chgnet-0.3.0 chgnet-r2scan sevennet-0 sevennet-mf-0-pbe sevennet-mf-0-r2scan sevennet-l3i5"}
CELLS="mp-557892 mp-19896 mp-532413 mp-1222492 mp-676361 mp-1222404 mp-1106183 mp-29410 mp-1195055"
left() {
  for seed in $SEEDS; do for t in 800 1100; do for ff in $POTENTIALS; do for cell in $CELLS; do
    [ -e "benchmarks/results/forcefield_runs/${ff}_${cell}_${t}K_s${seed}.json" ] || echo "$ff $t $seed $cell"
  done; done; done; done
}
if [ -n "$PLAN" ]; then
  left | ${PYTHON:-python} -c '
import sys
lines = open("benchmarks/results/forcefield_cost_seed_cells.txt").read().splitlines()
rows = [l.split() for l in lines if l.startswith("mp-")]
head = next(l.split() for l in lines if l.startswith("cell "))
names = head[3:-1]  # cell formula atoms <potentials...> load
cost = {r[0]: (int(r[2]), {n: float(r[3 + 3 * i]) for i, n in enumerate(names)}) for r in rows}
speedups = {}  # compiled / eager, per potential: the median over sevennet_compile_speed.txt rows
for l in open("benchmarks/results/sevennet_compile_speed.txt"):
    if l.startswith("sevennet"):
        speedups.setdefault(l.split()[0], []).append(float(next(w for w in l.split() if w.endswith("x"))[:-1]))
speedup = {k: sorted(v)[len(v) // 2] for k, v in speedups.items()}
speedup.setdefault("sevennet-mf-0-r2scan", speedup.get("sevennet-mf-0-pbe", 1.0))  # the same model, other head
hours, n = {}, 0
for ff, t, seed, cell in (l.split() for l in sys.stdin):
    atoms, ms = cost[cell]
    hours[ff] = hours.get(ff, 0.0) + atoms * ms[ff] / speedup.get(ff, 1.0) * 1600 / 1000 / 3600
    n += 1
print(f"{n} runs left, ~{sum(hours.values()):.0f} CPU-hours (1 thread, SevenNet compiled):",
      ", ".join(f"{k} {v:.1f}" for k, v in hours.items()))'
  exit
fi
left | OMP_NUM_THREADS=1 PYTHONPATH=src xargs -P "$JOBS" -L 1 sh -c \
    '${PYTHON:-python} benchmarks/forcefield_vs_aimd_md.py --data "'"$DATA"'" --out "'"$RUNS"'" --force-fields "$0" --temperatures "$1" --seeds "$2" --compounds "$3"'
