"""Issue 22: the structural stage on the seed's 453 survivors: wall time, CPU, peak memory, rerun.

Screens the bundled snapshot with the seed's four screens only (``exclude_radioactive`` off:
the 453 survivors the issue measures), writes the materials and screening documents into a
fresh montydb store and runs ``StructureEvidenceBuilder`` through the registry (what
``superionic build structure`` and ``superionic run`` run) on 2 worker processes. Reported:
wall time of the stage, the CPU seconds of every document (load-independent: on a shared
machine read those), the peak RSS of the parent and of the largest worker (getrusage of the
reaped children; workers are replaced every 25 materials), the load average before and after,
what each part recorded when it has no value, and a second build over the same store (it must
compute nothing).

    PYTHONPATH=src nice .venv/bin/python benchmarks/structure_evidence_speed.py [--no-bvse] [--store monty://DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from collections import Counter
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def survivors():
    from superionic.jobs.screening import screen_corpus
    from superionic.settings import ScreeningThresholds

    return screen_corpus(thresholds=ScreeningThresholds(exclude_radioactive=False), show_progress=False)


def fill_store(spec: str, outcome) -> None:
    from superionic.stores import open_stores

    stores = open_stores(spec)
    stores.materials.update([m.to_store() for m in outcome.materials], key="material_id")
    stores.screening.update([d.to_store() for d in outcome.screening], key="material_id")
    stores.close()


def build_once(spec: str, settings) -> tuple[int, float]:
    from superionic.builders import build
    from superionic.stores import open_stores

    stores = open_stores(spec)
    try:
        start = time.perf_counter()
        (report,) = build(stores, "structure", {"structure": {"settings": settings, "n_procs": 2, "show_progress": True}})
        return report.processed, time.perf_counter() - start
    finally:
        stores.close()


def _median(values: list[float]) -> float:
    values = sorted(values)
    return values[len(values) // 2] if values else float("nan")


def _reasons(docs: list[dict], part: str) -> dict[str, int]:
    def short(text: str) -> str:
        return text.split(":")[0][:60]

    return dict(Counter(short(d["not_computed"][part]) for d in docs if part in d.get("not_computed", {}))
                + Counter("failed: " + short(d["failures"][part]) for d in docs if part in d.get("failures", {})))


def report(spec: str, outcome, first: tuple[int, float], again: tuple[int, float], load: tuple[float, float],
           bvse: bool) -> list[str]:
    from superionic.builders.structure import evidence_by_material
    from superionic.stores import open_stores

    stores = open_stores(spec)
    docs = list(evidence_by_material(stores.evidence).values())
    stores.close()
    ids = {d.material_id for d in outcome.survivors}
    cpu = [d.get("cpu_seconds") or 0.0 for d in docs]
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    explained = [d for d in docs if (d["anion_framework"] != "not_computed" or "anion_framework" in d["not_computed"]
                                     or d["failures"]) and (d["li_network_dim"] is not None
                                     or "li_sublattice" in d["not_computed"] or d["failures"])]
    slowest = sorted(docs, key=lambda d: -(d.get("cpu_seconds") or 0))[:5]
    lines = [
        f"# PYTHONPATH=src nice .venv/bin/python benchmarks/structure_evidence_speed.py{'' if bvse else ' --no-bvse'}"
        f"  ({time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores shared with other jobs: load average "
        f"{load[0]:.1f} before, {load[1]:.1f} after)", "",
        f"survivors of the seed's four screens: {len(ids)}; evidence documents: {len(docs)} "
        f"({len(ids - {d['material_id'] for d in docs})} missing); with a value or a stated reason for the "
        f"framework and the Li sublattice: {len(explained)}",
        f"first build: {first[0]} documents in {first[1] / 60:.1f} min wall (2 worker processes)",
        f"CPU: {sum(cpu) / 60:.1f} min in all (median {_median(cpu):.2f} s, max {max(cpu):.1f} s per material); "
        f"CPU total / 2 = {sum(cpu) / 120:.1f} min: the wall time on 2 idle cores",
        f"peak RSS: largest worker {children.ru_maxrss / 1024:.0f} MB, parent "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB",
        f"second build over the same store: {again[0]} computed in {again[1]:.1f} s",
        f"anion framework: {dict(Counter(d['anion_framework'] for d in docs))}; no value because: "
        f"{_reasons(docs, 'anion_framework')}",
        f"Li sublattice: network dimensionality {dict(Counter(d['li_network_dim'] for d in docs))}; no value "
        f"because: {_reasons(docs, 'li_sublattice')}",
        f"BVSE: {dict(Counter(d['bvse_status'] for d in docs))}; no value because: {_reasons(docs, 'bvse')}",
        f"structures unreadable: {sum('structure' in d['failures'] for d in docs)}",
        "slowest (CPU): " + "; ".join(f"{d['formula']} ({d['nsites']} sites) {d['cpu_seconds']:.1f} s" for d in slowest),
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-bvse", action="store_true", help="The cheap parts only (framework, Li sublattice).")
    parser.add_argument("--store", help="A store spec (default: a fresh montydb store in a temporary folder).")
    args = parser.parse_args()
    from superionic.schemas.structure import EvidenceSettings

    settings = EvidenceSettings(bvse=not args.no_bvse).model_dump()
    outcome = survivors()
    spec = args.store or f"monty://{tempfile.mkdtemp(prefix='structure_speed_')}"
    fill_store(spec, outcome)
    load_before = os.getloadavg()[0]
    first = build_once(spec, settings)
    load_after = os.getloadavg()[0]
    again = build_once(spec, settings)
    lines = report(spec, outcome, first, again, (load_before, load_after), not args.no_bvse)
    name = "structure_evidence_speed" + ("_no_bvse" if args.no_bvse else "") + ".txt"
    (RESULTS / name).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
