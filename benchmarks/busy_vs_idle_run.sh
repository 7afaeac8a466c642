#!/bin/bash
# `superionic run` (the default, quick recipe) twice from fresh HOMEs: first with BUSY extra
# processes spinning on the cores, then without them. Prints wall time and CPU of each and
# compares what the two runs stored: every ConductivityDoc and DiffusionDoc (numbers, verdicts,
# segment counts), field for field. The MD budget is steps and each segment runs one torch
# thread with fixed seeds, so the two must agree exactly; anything else is a bug.
#   benchmarks/busy_vs_idle_run.sh            # BUSY=2 OUT=/tmp/busy_vs_idle PYTHON=python
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
OUT=${OUT:-/tmp/busy_vs_idle}
BUSY=${BUSY:-2}
mkdir -p "$OUT"

run() {  # run NAME: a fresh HOME, the default run, its MD documents dumped as JSON
  local home; home=$(mktemp -d)
  /usr/bin/time -f "%e s wall, %U+%S s CPU, %M kB peak RSS" -o "$OUT/$1.time" \
    env HOME="$home" PYTHONPATH=src "$PY" -m superionic.cli run > "$OUT/$1.txt" 2>&1 || true
  HOME="$home" PYTHONPATH=src "$PY" - "$OUT/$1.json" <<'EOF'
import json, sys
from superionic.stores import open_stores
stores = open_stores()
drop = {"_id", "last_updated", "created_at", "doc_id", "source_doc_ids", "conductivity_id", "task_id",
        "job_uuid", "uuid", "wall_time_s", "wall_s", "elapsed_s", "run_dir", "dir_name",
        "seconds", "trajectory_ref"}  # wall times and job uuids: the only fields allowed to differ
def clean(d):
    if isinstance(d, dict):
        return {k: clean(v) for k, v in sorted(d.items()) if k not in drop}
    if isinstance(d, list):
        return [clean(v) for v in d]
    return d
out = {name: sorted((clean(d) for d in getattr(stores, name).query({})), key=lambda d: json.dumps(d, default=str))
       for name in ("diffusion", "conductivity")}
json.dump(out, open(sys.argv[1], "w"), default=str, indent=1, sort_keys=True)
EOF
  echo "$1: $(cat "$OUT/$1.time"); load at end $(cut -d' ' -f1-3 /proc/loadavg); $(grep -o 'MD: .*failed' "$OUT/$1.txt" || echo 'no MD line')"
}

pids=()
for _ in $(seq "$BUSY"); do "$PY" -c "while True: pass" & pids+=($!); done
run busy
kill "${pids[@]}"
run quiet
if cmp -s "$OUT/busy.json" "$OUT/quiet.json"; then
  echo "same MD documents: $(grep -c '"temperature"' "$OUT/busy.json") temperature entries, field for field"
else
  echo "MD documents differ:"; diff "$OUT/busy.json" "$OUT/quiet.json" | head -40
fi
