"""Issue 22: the structural stage on the seed's 453 survivors: time and peak memory.

Screens the bundled snapshot with the seed's four screens only (``exclude_radioactive`` off:
the 453 survivors the issue measures) and computes every survivor's ``StructureEvidenceDoc``
(anion framework, Li sublattice, BVSE with the default 20,000-point grid cap) in 2 worker
processes, as ``StructureEvidenceBuilder`` does. Each finished document is appended at once
to ``/tmp/structure_evidence_453.jsonl`` with the worker's CPU seconds for it and the worker's
peak RSS so far, so a run stopped early still reports what it measured (a rerun continues
where it stopped). CPU time is the load-independent number on a shared machine: on two idle
cores the wall time is about the CPU total / 2. Finally the documents go into a MemoryStore
and the builder is run over it: a rerun must compute nothing.

    PYTHONPATH=src nice .venv/bin/python benchmarks/structure_evidence_speed.py [--summary]
"""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import sys
import time
from collections import Counter
from pathlib import Path

OUT = Path(__file__).resolve().parent / "results" / "structure_evidence_speed.txt"
LOG = Path("/tmp/structure_evidence_453.jsonl")


def _work(args):
    from pymatgen.core import Structure

    from superionic.structure.evidence import EvidenceSettings, compute_evidence

    mid, structure, descriptors = args
    cpu0 = time.process_time()
    doc = compute_evidence(mid, Structure.from_dict(structure), EvidenceSettings(), descriptors)
    return {"doc": doc.model_dump(mode="json"), "cpu_s": time.process_time() - cpu0,
            "worker_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def survivors():
    from superionic.jobs.screening import screen_corpus
    from superionic.settings import ScreeningThresholds

    return screen_corpus(thresholds=ScreeningThresholds(exclude_radioactive=False), show_progress=False)


def compute(out, n_procs: int) -> float:
    from superionic.structure.load import structure_of

    done = {json.loads(line)["doc"]["material_id"] for line in LOG.read_text().splitlines()} if LOG.exists() else set()
    mats = {m.material_id: m for m in out.materials}
    items = [(d.material_id, structure_of(mats[d.material_id]).as_dict(), mats[d.material_id].descriptors)
             for d in out.survivors if d.material_id not in done]
    start = time.perf_counter()
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(n_procs, maxtasksperchild=25) as pool, LOG.open("a") as fh:
        for row in pool.imap_unordered(_work, items, chunksize=1):
            fh.write(json.dumps(row) + "\n")
            fh.flush()
    return time.perf_counter() - start


def summary(out, wall: float | None, n_procs: int) -> None:
    from maggma.cli.serial import serial
    from maggma.stores import MemoryStore

    from superionic.builders.structure import StructureEvidenceBuilder

    rows = [json.loads(line) for line in LOG.read_text().splitlines()]
    docs = [r["doc"] for r in rows]
    ids = {d.material_id for d in out.survivors}
    cpu = sum(r["cpu_s"] for r in rows)
    scr, mat, ev = MemoryStore(key="material_id"), MemoryStore(key="material_id"), MemoryStore(key="evidence_id")
    for store in (scr, mat, ev):
        store.connect()
    have = {d["material_id"] for d in docs}  # a stopped run: the rerun check covers what was stored
    scr.update([d.to_store() for d in out.survivors if d.material_id in have], key="material_id")
    mat.update([m.to_store() for m in out.materials], key="material_id")
    ev.update(docs, key="evidence_id")
    again = StructureEvidenceBuilder(scr, mat, ev, n_procs=n_procs)
    t0 = time.perf_counter()
    serial(again, no_bars=True)
    status = Counter(d["bvse_status"] for d in docs)
    slowest = sorted(rows, key=lambda r: -r["cpu_s"])[:5]
    lines = [
        f"# PYTHONPATH=src nice .venv/bin/python benchmarks/structure_evidence_speed.py  ({time.strftime('%Y-%m-%d')}, "
        f"{n_procs} worker processes, 2 cores shared with other jobs: load average {os.getloadavg()[0]:.1f})", "",
        f"survivors of the seed's four screens: {len(ids)}; evidence documents: {len(docs)} "
        f"({len(ids - {d['material_id'] for d in docs})} not yet computed)",
        f"CPU time: {cpu / 60:.1f} min in all (mean {cpu / max(len(rows), 1):.1f} s, median "
        f"{sorted(r['cpu_s'] for r in rows)[len(rows) // 2]:.1f} s per material): about {cpu / 120:.1f} min of wall "
        "time on 2 idle cores",
        f"wall time of this run: {'n/a' if wall is None else f'{wall / 60:.1f} min'} (shared machine)",
        f"peak RSS of a worker process: {max(r['worker_rss_mb'] for r in rows):.0f} MB (median "
        f"{sorted(r['worker_rss_mb'] for r in rows)[len(rows) // 2]:.0f} MB); parent "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB",
        f"rerun (StructureEvidenceBuilder over the {len(have)} stored documents): {again.n_processed} computed in "
        f"{time.perf_counter() - t0:.1f} s",
        f"BVSE status: {dict(status)}; reasons: "
        f"{dict(Counter((d.get('bvse_reason') or '')[:70] for d in docs if d['bvse_status'] != 'ok'))}",
        f"BVSE grid: 0.2 A on {sum((d.get('bvse_resolution') or 9) <= 0.2 for d in docs)}, widened on "
        f"{sum((d.get('bvse_resolution') or 0) > 0.2 for d in docs)} (max "
        f"{max((d.get('bvse_resolution') or 0) for d in docs):.3f} A)",
        f"anion framework: {dict(Counter(d['anion_framework'] for d in docs))}",
        f"Li network dimensionality (Li-Li < 3.5 A): {dict(Counter(d['li_network_dim'] for d in docs))}",
        f"failures recorded: {dict(Counter(k for d in docs for k in d['failures']))}",
        "slowest (CPU): " + "; ".join(f"{r['doc']['formula']} ({r['doc']['nsites']} sites) {r['cpu_s']:.1f} s"
                                      for r in slowest),
    ]
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    outcome = survivors()
    seconds = None if "--summary" in sys.argv else compute(outcome, 2)
    summary(outcome, seconds, 2)
