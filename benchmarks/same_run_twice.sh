#!/bin/bash
# `superionic run` (the default, quick recipe) twice from fresh HOMEs, then a comparison of what
# the two runs stored: every ConductivityDoc and DiffusionDoc (numbers, verdicts, segment counts),
# field for field, with the wall time and CPU of each. The MD budget is steps and each segment
# runs one torch thread with fixed seeds, so the two must agree exactly; anything else is a bug.
#   MODE=busy     first with BUSY extra processes spinning on the cores, then without them
#   MODE=workers  first with every MD job in the run's own process (SUPERIONIC_LOCAL_WORKERS=1),
#                 then with the MD jobs in worker processes, one per core (the default)
#   MODE=busy benchmarks/same_run_twice.sh     # BUSY=2 OUT=/tmp/same_run_twice PYTHON=python
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
MODE=${MODE:-busy}
OUT=${OUT:-/tmp/same_run_twice}
BUSY=${BUSY:-2}
mkdir -p "$OUT"

run() {  # run NAME [VAR=VALUE...]: a fresh HOME, the default run, its MD documents dumped as JSON
  local home name=$1; shift; home=$(mktemp -d)
  /usr/bin/time -f "%e s wall, %U+%S s CPU, %M kB peak RSS" -o "$OUT/$name.time" \
    env HOME="$home" PYTHONPATH=src "$@" "$PY" -m superionic.cli run > "$OUT/$name.txt" 2>&1 || true
  HOME="$home" PYTHONPATH=src "$PY" - "$OUT/$name.json" <<'EOF'
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
  echo "$name: $(cat "$OUT/$name.time"); load at end $(cut -d' ' -f1-3 /proc/loadavg); $(grep -o 'MD: .*failed' "$OUT/$name.txt" || echo 'no MD line')"
}

if [ "$MODE" = busy ]; then
  pids=()
  for _ in $(seq "$BUSY"); do "$PY" -c "while True: pass" & pids+=($!); done
  run busy; first=busy
  kill "${pids[@]}"
  run quiet; second=quiet
else
  run one_process SUPERIONIC_LOCAL_WORKERS=1; first=one_process
  run all_cores; second=all_cores
fi
if cmp -s "$OUT/$first.json" "$OUT/$second.json"; then
  echo "same MD documents: $(grep -c '"temperature"' "$OUT/$first.json") temperature entries, field for field"
else
  echo "MD documents differ:"; diff "$OUT/$first.json" "$OUT/$second.json" | head -40
fi
