"""Wall time and peak memory of the offline full-corpus funnel (21,755 MP Li materials).

    OMP_NUM_THREADS=1 python benchmarks/screen_full_corpus.py [--store monty://DIR] [--convention seed]

Runs ``run_screening(source="snapshot", corpus_name="full")`` twice on a fresh store (the
second run, in the same process, shows the rerun cost: nothing rewritten), prints each step's count beside the
seed's, the wall time of each phase and the peak resident memory. Numbers depend on the
machine and its load: the README quotes a run with its load average.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=None, help="store URI (default: a fresh montydb folder)")
    parser.add_argument("--convention", default="seed", choices=["seed", "li_metal"])
    args = parser.parse_args()
    from superionic.jobs.screening import run_screening
    from superionic.settings import ScreeningThresholds
    from superionic.stores import open_stores

    store = args.store or f"monty://{tempfile.mkdtemp(prefix='superionic-full-')}"
    stores = open_stores(store)
    thresholds = ScreeningThresholds(voltage_convention=args.convention)
    timings = []
    for label in ("first run", "rerun"):
        start, cpu = time.perf_counter(), time.process_time()
        outcome = run_screening(stores, "snapshot", thresholds=thresholds, show_progress=False,
                                corpus_name="full")
        timings.append((label, time.perf_counter() - start, time.process_time() - cpu))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"store {store}; convention {args.convention}; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'step':<22}{'survivors':>10}{'failed':>8}{'unknown':>8}{'seed':>8}")
    for s in outcome.funnel.steps:
        seed = "" if s.seed_survivors is None else str(s.seed_survivors)
        print(f"{s.name:<22}{s.survivors:>10}{s.failed:>8}{s.unknown:>8}{seed:>8}")
    for label, seconds, cpu in timings:
        print(f"{label:<22}{seconds:>9.1f} s wall, {cpu:.1f} s CPU")
    print(f"peak memory (max RSS) {peak_mib:.0f} MiB; documents: materials "
          f"{stores.materials.count()}, screening {stores.screening.count()}, funnel {stores.funnel.count()}")


if __name__ == "__main__":
    main()
