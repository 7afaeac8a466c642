"""Issue 22: the structural stage on the seed's 453 survivors, wall time and peak memory.

Screens the bundled snapshot with the seed's four screens only (``exclude_radioactive`` off:
the 453 survivors the issue measures), then runs ``StructureEvidenceBuilder`` (anion framework,
Li sublattice, BVSE with the default 20,000-point grid cap) on 2 worker processes into a
MemoryStore, then runs it again (a rerun must compute nothing). Writes the documents to
``/tmp/structure_evidence_453.json.gz`` (benchmarks/structure_signals.py reads them) and the
summary to ``benchmarks/results/structure_evidence_speed.txt``.

    PYTHONPATH=src nice .venv/bin/python benchmarks/structure_evidence_speed.py
"""

from __future__ import annotations

import gzip
import json
import os
import resource
import sys
import time
from collections import Counter
from pathlib import Path

OUT = Path(__file__).resolve().parent / "results" / "structure_evidence_speed.txt"
CACHE = Path("/tmp/structure_evidence_453.json.gz")


def main(n_procs: int = 2) -> None:
    from maggma.cli.serial import serial
    from maggma.stores import MemoryStore

    from superionic.builders.structure import StructureEvidenceBuilder
    from superionic.jobs.screening import screen_corpus
    from superionic.settings import ScreeningThresholds
    from superionic.structure.evidence import EvidenceSettings

    out = screen_corpus(thresholds=ScreeningThresholds(exclude_radioactive=False), show_progress=False)
    scr, mat, ev = MemoryStore(key="material_id"), MemoryStore(key="material_id"), MemoryStore(key="evidence_id")
    for store in (scr, mat, ev):
        store.connect()
    scr.update([d.to_store() for d in out.screening], key="material_id")
    mat.update([m.to_store() for m in out.materials], key="material_id")
    settings = EvidenceSettings()
    lines = [f"# PYTHONPATH=src nice .venv/bin/python benchmarks/structure_evidence_speed.py  "
             f"({time.strftime('%Y-%m-%d')}, {n_procs} worker processes, 2 shared cores)", ""]
    builder = StructureEvidenceBuilder(scr, mat, ev, settings, n_procs=n_procs)
    start = time.perf_counter()
    serial(builder, no_bars=True)
    wall = time.perf_counter() - start
    kids, me = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)
    cpu = kids.ru_utime + kids.ru_stime + me.ru_utime + me.ru_stime
    children_mb = kids.ru_maxrss / 1024
    self_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    docs = list(ev.query())
    for d in docs:
        d.pop("_id", None)
    again = StructureEvidenceBuilder(scr, mat, ev, settings, n_procs=n_procs)
    start2 = time.perf_counter()
    serial(again, no_bars=True)
    wall2 = time.perf_counter() - start2
    status = Counter(d["bvse_status"] for d in docs)
    frameworks = Counter(d["anion_framework"] for d in docs)
    slowest = sorted(docs, key=lambda d: -d["wall_seconds"])[:5]
    lines += [
        f"survivors of the seed's four screens: {len(out.survivors)}; evidence documents built: {builder.n_processed}; "
        f"failures: {len(builder.failures)}",
        f"settings: {settings.model_dump()}",
        f"wall time: {wall / 60:.1f} min ({wall:.0f} s); CPU per material (sum of wall_seconds in workers): "
        f"{sum(d['wall_seconds'] for d in docs) / 60:.1f} min",
        f"CPU time (parent + workers): {cpu / 60:.1f} min; load average at the end {os.getloadavg()[0]:.1f} "
        f"(the machine is shared: wall time = CPU time / {n_procs} only on an idle machine)",
        f"peak RSS: largest worker process {children_mb:.0f} MB, parent {self_mb:.0f} MB",
        f"rerun with the same structures and settings: {again.n_processed} documents computed in {wall2:.1f} s",
        f"BVSE status: {dict(status)}",
        f"BVSE failure reasons: {dict(Counter((d.get('bvse_reason') or '')[:60] for d in docs if d['bvse_status'] != 'ok'))}",
        f"BVSE grid spacing: 0.2 A on {sum((d.get('bvse_resolution') or 0) <= 0.2 for d in docs)}, widened on "
        f"{sum((d.get('bvse_resolution') or 0) > 0.2 for d in docs)} (max {max((d.get('bvse_resolution') or 0) for d in docs):.3f} A)",
        f"anion framework: {dict(frameworks)}",
        "slowest: " + "; ".join(f"{d['formula']} ({d['nsites']} sites) {d['wall_seconds']:.1f} s" for d in slowest),
    ]
    OUT.write_text("\n".join(lines) + "\n")
    with gzip.open(CACHE, "wt") as fh:
        json.dump(docs, fh, default=str)
    print("\n".join(lines))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
