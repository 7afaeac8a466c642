"""The force-field table: each potential's MD of the seed's cells against the seed's AIMD.

Reads the per-run records in ``--records`` (``benchmarks/results/forcefield_runs/``, committed: one
JSON file per run, ``<ff>_<mp-id>_<T>K_s<seed>.json``) and compares each run with the authors' AIMD of
the same cell at the same temperature (``shared/data/aimd/kang2023``, 60 ps). A record holds the run's
DiffusionDoc (the project's diffusion analysis of the trajectory), its summary and the run's cost;
``--runs DIR`` first analyses every ``forcefield_vs_aimd_md.py`` trajectory (``.npz``, kept outside
git: megabytes each) that has no record yet and writes its record, so the table never depends on
trajectories that a machine may lose. Records transcribed from an earlier printed table (their
trajectories were lost with a machine: ``"doc": null``, the summary to the printed digits) count in
the rows, the spread and the figure, not in a new Ea fit (their Ea is carried as printed).

One row per cell x potential x T x seed: framework intact or melted (the project's melting detector;
the number is the mean over framework elements of the fraction of atoms off their site), D with its
95 % interval (or 95 % upper bound when Li hops are too few), D / D_AIMD(60 ps, same T), Li hops, and
the MD's wall ms per atom-step (1 thread, on a shared machine: a timing of the load as much as of the
potential; the A/B cost is ``forcefield_cost_seed_cells.py``'s). Then the spread over seeds, and Ea
per cell x potential x seed where >= 2 temperatures were run, vs the AIMD's from the same
temperatures and from all four.

    python benchmarks/forcefield_vs_aimd_table.py [--runs DIR_OF_NPZ]

(A 2.5 ps cut of the 60 ps AIMD holds 13 frames: it is no measurement, and is not printed.)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import warnings
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from superionic.md.analysis.arrhenius import conductivity_from_diffusion
from superionic.md.analysis.diffusion import diffusion_from_trajectory
from superionic.md.analysis.readers import load_trajectory
from superionic.md.analysis.trajectory import from_fractional
from superionic.schemas.md import DiffusionDoc

warnings.filterwarnings("ignore")
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
RECORDS = Path(__file__).resolve().parent / "results" / "forcefield_runs"
EA_TRANSCRIBED = "ea_transcribed.json"
"""In ``--records``: the Ea rows of the printed table whose runs were transcribed."""


CELLS = ("mp-557892", "mp-19896", "mp-532413", "mp-1222492", "mp-29410", "mp-1106183", "mp-1222404",
         "mp-676361", "mp-1195055")  # the order of the README's tables
POTENTIAL_ORDER = ("chgnet-0.3.0", "chgnet-r2scan", "sevennet-0", "sevennet-mf-0-pbe", "sevennet-mf-0-r2scan",
                   "sevennet-l3i5")
WITHIN = 3.0
"""The issue's bar: D within this factor of the AIMD's."""

LEGACY_SEED = 20231025
LEGACY_NAMES = {"0.3.0": "chgnet-0.3.0", "r2scan": "chgnet-r2scan"}


def parse_name(path: Path) -> tuple[str, str, float, int]:
    """``(potential, mp_id, T, seed)`` of ``<ff>_<mp-id>_<T>K[_s<seed>].npz``."""
    parts = path.stem.split("_")
    seed = int(parts[3][1:]) if len(parts) > 3 else LEGACY_SEED
    return LEGACY_NAMES.get(parts[0], parts[0]), parts[1], float(parts[2].rstrip("K")), seed


def ff_doc(path: Path):
    """``(DiffusionDoc or None if the run failed, the npz)`` of one run's trajectory file."""
    z = np.load(path, allow_pickle=True)
    if not str(z["status"]).startswith("completed") or len(z["frac"]) < 10:
        return None, z
    tr = from_fractional(list(z["species"]), z["frac"], z["lattice"], frame_interval_fs=float(z["frame_interval_fs"]),
                         temperature=float(z["temperature"]), measured_temperatures=z["temperatures"])
    return diffusion_from_trajectory(tr, material_id=path.stem.split("_")[1], engine="forcefield"), z


def summary(doc) -> dict:
    """What the table and the figure read of a run's DiffusionDoc (a transcribed record holds the same keys)."""
    moved = sum(doc.framework_displaced_fraction.values()) / max(len(doc.framework_displaced_fraction), 1)
    return dict(duration_ps=doc.duration_ps, melted=melted(doc), framework_displaced_mean=round(moved, 4),
                d_status=doc.d_status, diffusivity=doc.diffusivity,
                diffusivity_ci95=list(doc.diffusivity_ci95) if doc.diffusivity_ci95 else None,
                diffusivity_upper95=doc.diffusivity_upper95, n_hops=doc.n_hops)


def record_from_npz(path: Path) -> dict:
    """The committed record of one run: who, what, cost, and its DiffusionDoc (None if it failed)."""
    potential, mp_id, temperature, seed = parse_name(path)
    doc, z = ff_doc(path)
    return dict(potential=potential, mp_id=mp_id, temperature=temperature, seed=seed, status=str(z["status"])[:200],
                ms_per_atom_step=float(z["wall_md_s"]) / float(z["md_steps"]) / float(z["n_atoms"]) * 1e3,
                n_atoms=int(z["n_atoms"]), md_steps=int(z["md_steps"]),
                date=str(z["date"])[:10] if "date" in z.files else "?", source=f"analysed from {path.name}",
                calculator=str(z["calculator"]) if "calculator" in z.files else "",
                summary=summary(doc) if doc is not None else None,
                doc=doc.model_dump(mode="json") if doc is not None else None)


def record_path(records: Path, npz: Path) -> Path:
    potential, mp_id, temperature, seed = parse_name(npz)
    return records / f"{potential}_{mp_id}_{temperature:.0f}K_s{seed}.json"


def write_record(npz: Path, records: Path) -> Path:
    """Analyse one run's trajectory and write its record (replacing an older one)."""
    out = record_path(records, npz)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record_from_npz(npz), indent=1) + "\n")
    return out


def write_records(runs: Path, records: Path) -> list[Path]:
    """Analyse every trajectory in ``runs`` that has no record in ``records``; the records written."""
    return [write_record(npz, records) for npz in sorted(runs.glob("*_mp-*_*K*.npz"))
            if not record_path(records, npz).exists()]


def latest_per_seed(runs: list[dict]) -> list[dict]:
    """One run per cell x potential x T x seed: the latest (a seed run again supersedes its older run)."""
    latest = {}
    for r in sorted(runs, key=lambda r: r["date"]):
        latest[(r["mp_id"], r["potential"], float(r.get("t", r.get("temperature"))), r["seed"])] = r
    return list(latest.values())


def load_records(records: Path) -> list[dict]:
    """The records, each with ``view`` (what d_text & co. read) and ``doc`` (DiffusionDoc or None)."""
    out = []
    for path in sorted(records.glob("*_mp-*_*K_s*.json")):
        r = json.loads(path.read_text())
        r["doc"] = DiffusionDoc.model_validate(r["doc"]) if r.get("doc") else None
        s = r.get("summary")
        r["view"] = None if s is None else SimpleNamespace(
            **{k: v for k, v in s.items() if k not in ("melted", "framework_displaced_mean")},
            flags=["framework_melting: (recorded)"] if s["melted"] else [],
            framework_displaced_fraction={"mean": s["framework_displaced_mean"]})
        out.append(r)
    return out


@lru_cache(maxsize=None)
def aimd_doc(root: Path, mp_id: str, temperature: float, duration_ps: float | None = None):
    path = root / mp_id / f"{temperature:.0f}_nteps_100.json.gz"
    tr = load_trajectory(path)
    if duration_ps is not None:
        n = int(round(duration_ps * 1000.0 / tr.frame_interval_fs)) + 1
        if n < tr.n_frames:
            tr = from_fractional(tr.species, tr.positions[:n] @ np.linalg.inv(tr.lattices[0]), tr.lattices,
                                 frame_interval_fs=tr.frame_interval_fs, temperature=tr.temperature)
    return diffusion_from_trajectory(tr, material_id=mp_id, engine="vasp")


def melted(doc) -> bool:
    """Whether the project's melting detector flagged the run's framework."""
    return any(f.startswith("framework_melting") for f in doc.flags)


def d_text(doc) -> str:
    if doc is None:
        return "failed"
    if doc.d_status == "resolved":
        lo, hi = doc.diffusivity_ci95
        return f"{doc.diffusivity:.1e} [{lo:.0e},{hi:.0e}]"
    if doc.d_status == "upper_bound":
        return f"<= {doc.diffusivity_upper95:.1e}"
    return "melted" if melted(doc) else "none"


def melt_text(doc) -> str:
    if doc is None:
        return "-"
    moved = sum(doc.framework_displaced_fraction.values()) / max(len(doc.framework_displaced_fraction), 1)
    flag = "MELTED" if melted(doc) else "intact"
    return f"{flag} {moved:.2f}"


def sigma_text(cond) -> str:
    if cond.sigma300_kind is None:
        return cond.verdict
    if cond.sigma300_kind == "interval":
        return f"{cond.sigma300:.1e} [{cond.sigma300_lower:.0e},{cond.sigma300_upper:.0e}] Ea {cond.activation_energy:.2f}"
    if cond.sigma300_kind == "upper_bound":
        return f"<= {cond.sigma300_upper:.1e}"
    return f"[{cond.sigma300_lower:.0e},{cond.sigma300_upper:.0e}]"


def d_ratio(doc, full) -> float | None:
    """D (or its 95 % upper bound) over the AIMD's resolved D; a transcribed run keeps its printed ratio
    (made from D at full precision, not from the two printed digits)."""
    if doc is None or full.d_status != "resolved" or doc.d_status not in ("resolved", "upper_bound"):
        return None
    printed = getattr(doc, "d_over_aimd_printed", None)
    if printed is not None:
        return printed
    d = doc.diffusivity if doc.d_status == "resolved" else doc.diffusivity_upper95
    return d / full.diffusivity


def ratio_text(doc, full) -> str:
    x = d_ratio(doc, full)
    return "-" if x is None else f"{'<=' if doc.d_status == 'upper_bound' else ''}{x:.2f}"


def ea_text(docs) -> str:
    try:
        c = conductivity_from_diffusion(docs)
    except ValueError as exc:
        return f"({exc})"
    if c.activation_energy is None:
        return "no fit (" + ", ".join(f"{e.temperature:g} K {e.reason[:20]}" for e in c.excluded) + ")"
    return f"{c.activation_energy:.2f} +/- {c.activation_energy_std:.2f}"


def print_spread(rows: list[dict]) -> None:
    """Per cell x potential x T over its seeds: runs, how many kept the framework, and the range of D
    and of D / D_AIMD over the intact runs that resolved D (upper bounds listed apart). A seed run twice
    (an older code path's run of 2026-12-04, then again) counts once: its latest run."""
    print("\nSpread over velocity seeds (the latest run of each seed): framework intact in n of N runs; D and "
          "D/D_AIMD range over the intact runs (resolved: min-max; '<=': the largest 95 % upper bound)")
    print(f"{'cell':11s} {'formula':11s} {'potential':20s} {'T':>5s} {'intact':>7s} {'D range (cm2/s)':>20s} "
          f"{'D/D_AIMD range':>15s} {'within 3x':>9s} | {'D AIMD 60 ps':>24s}")
    groups: dict[tuple, list[dict]] = {}
    for r in latest_per_seed(rows):
        groups.setdefault((r["mp_id"], r["potential"], r["t"]), []).append(r)
    for (mp_id, potential, t), runs in sorted(groups.items()):
        docs = [r["doc"] for r in runs]
        intact = [d for d in docs if d is not None and not melted(d)]
        resolved_docs = [d for d in intact if d.d_status == "resolved"]
        resolved = [d.diffusivity for d in resolved_docs]
        bounds = [d.diffusivity_upper95 for d in intact if d.d_status == "upper_bound"]
        full = runs[0]["full"]
        d_range = ratio = within = "-"
        if resolved:
            d_range = f"{min(resolved):.1e}-{max(resolved):.1e}"
            if full.d_status == "resolved":
                ratios = [d_ratio(d, full) for d in resolved_docs]
                lo, hi = min(ratios), max(ratios)
                ratio = f"{lo:.2f}-{hi:.2f}"
                within = f"{sum(1 / 3 <= x <= 3 for x in ratios)}/{len(ratios)}"
        if bounds:
            d_range = (d_range + " " if resolved else "") + f"<= {max(bounds):.1e}"
        print(f"{mp_id:11s} {runs[0]['formula']:11s} {potential:20s} {t:5.0f} {len(intact):>3d}/{len(runs):<3d} "
              f"{d_range:>20s} {ratio:>15s} {within:>9s} | {d_text(full):>24s}")


def agreement(runs: list[dict]) -> tuple[str, dict]:
    """One cell x T x potential over its seeds against the AIMD: a short text and the counts behind it.

    The framework first: each run melted or intact as the AIMD ("ok", or "melts" where both melt), or
    not ("MELTS k/n": melts where the AIMD keeps it; "KEEPS k/n": the reverse). Then, over the intact
    runs where the AIMD resolves D, D / D_AIMD: the range of the resolved runs ("1.1-2.6x") or, where
    no run resolves D, the largest 95 % upper bound ("<=8.1x")."""
    full = runs[0]["full"]
    docs = [r["doc"] for r in runs if r["doc"] is not None]
    aimd_melts = melted(full)
    wrong = [d for d in docs if melted(d) != aimd_melts]
    counts = dict(runs=len(docs), framework_as_aimd=len(docs) - len(wrong), resolved=0, within=0)
    seeds = f" ({len(docs)})" if len(docs) > 1 else ""
    if not docs:
        return "failed", counts
    if wrong:
        return f"{'KEEPS' if aimd_melts else 'MELTS'} {len(wrong)}/{len(docs)}", counts
    if aimd_melts:
        return "melts" + seeds, counts
    text = "ok"
    if full.d_status == "resolved":
        ratios = [d_ratio(d, full) for d in docs if d.d_status == "resolved"]
        bounds = [d_ratio(d, full) for d in docs if d.d_status == "upper_bound"]
        counts.update(resolved=len(ratios), within=sum(1 / WITHIN <= x <= WITHIN for x in ratios))
        parts = []
        if ratios:
            lo, hi = min(ratios), max(ratios)
            parts.append((_times(lo) if len(ratios) == 1 else f"{_times(lo)[:-1]}-{_times(hi)}")
                         + ("!" if counts["within"] < len(ratios) else ""))
        if bounds:
            parts.append(f"<={_times(max(bounds))}")
        text = " ".join([text, "; ".join(parts)]) if parts else text
    return text + seeds, counts


def _times(x: float) -> str:
    return f"{x:.2f}x" if x < 10 else f"{x:.0f}x"


def print_matrix(rows: list[dict]) -> None:
    """The grid at a glance, as a markdown table (it goes into the README as it is printed)."""
    groups: dict[tuple, list[dict]] = {}
    for r in latest_per_seed(rows):
        groups.setdefault((r["mp_id"], r["t"], r["potential"]), []).append(r)
    cells = [c for c in CELLS if any(k[0] == c for k in groups)]
    potentials = [p for p in POTENTIAL_ORDER if any(k[2] == p for k in groups)]
    print(f"\nAgainst the AIMD at a glance (markdown): per cell x T, each potential's runs over its seeds (count in "
          f"brackets where > 1). ok: the framework intact as the AIMD's, then D/D_AIMD over the runs that resolve D "
          f"(a range over seeds; '!': outside {1 / WITHIN:.2f}-{WITHIN:g}x) or the largest 95 % upper bound ('<='; "
          f"none where the AIMD's D is itself a bound); melts: melted as the AIMD; MELTS k/n: k of n runs melted a "
          f"framework the AIMD keeps; '.': not run")
    print("| cell | T (K) | AIMD 60 ps | " + " | ".join(potentials) + " |")
    print("|---|---|---|" + "---|" * len(potentials))
    totals = {p: dict(cells=0, cells_ok=0, runs=0, framework_as_aimd=0, resolved=0, within=0) for p in potentials}
    for mp_id in cells:
        for t in sorted({k[1] for k in groups if k[0] == mp_id}):
            entries, full = [], None
            for p in potentials:
                runs = groups.get((mp_id, t, p))
                if not runs:
                    entries.append(".")
                    continue
                full, formula = runs[0]["full"], runs[0]["formula"]
                text, counts = agreement(runs)
                entries.append(text)
                total = totals[p]
                total["cells"] += 1
                total["cells_ok"] += counts["framework_as_aimd"] == counts["runs"] > 0
                for k in ("runs", "framework_as_aimd", "resolved", "within"):
                    total[k] += counts[k]
            aimd = "melts" if melted(full) else d_text(full).split(" [")[0]
            print(f"| {formula} {mp_id} | {t:.0f} | {aimd} | " + " | ".join(entries) + " |")
    print("| framework as the AIMD's: cell-T (runs) | | | " + " | ".join(
        f"{t['cells_ok']}/{t['cells']} ({t['framework_as_aimd']}/{t['runs']})" for t in totals.values()) + " |")
    print(f"| resolved D within {WITHIN:g}x of the AIMD's (runs) | | | " + " | ".join(
        f"{t['within']}/{t['resolved']}" for t in totals.values()) + " |")


D_PRINTED = re.compile(r"^(?P<d>[0-9.e+-]+) \[(?P<lo>[0-9.e+-]+),(?P<hi>[0-9.e+-]+)\]$")


def transcribe(table: Path, note: str) -> tuple[list[dict], list[dict]]:
    """Records (``doc`` None) and Ea rows from a table this script printed: for runs whose
    trajectories are gone. The values keep the printed digits."""
    runs, eas, section = [], [], ""
    for line in table.read_text().splitlines():
        if line.startswith(("Per run", "Spread", "Ea (eV)")):
            section = line.split()[0]
            continue
        if not line.startswith("mp-"):
            continue
        if section == "Per":
            left, _aimd, right = line.split("|")
            tok = left.split()
            mp_id, formula, potential, t, seed, ps, flag, moved = tok[:8]
            d, hops = " ".join(tok[8:-2]), int(tok[-2])
            m = D_PRINTED.match(d)
            s = dict(duration_ps=float(ps), melted=flag == "MELTED", framework_displaced_mean=float(moved),
                     d_status="resolved" if m else "upper_bound" if d.startswith("<=") else "none",
                     diffusivity=float(m["d"]) if m else None,
                     diffusivity_ci95=[float(m["lo"]), float(m["hi"])] if m else None,
                     diffusivity_upper95=float(d.split()[1]) if d.startswith("<=") else None, n_hops=hops)
            s["d_over_aimd_printed"] = float(tok[-1].lstrip("<=")) if tok[-1] != "-" else None
            ms, date = right.split()
            runs.append(dict(potential=potential, mp_id=mp_id, temperature=float(t), seed=int(seed), status="completed",
                             ms_per_atom_step=float(ms), date=date, source=note, summary=s, doc=None))
        elif section == "Ea":
            left, same, _all4 = line.split("|")
            mp_id, potential, seed, temps = left.split()[:4]
            ea = left.split(None, 4)[4].strip()
            date = _all4.split()[-1] if re.search(r"\d{4}-\d\d-\d\d$", _all4.strip()) else ""
            eas.append(dict(mp_id=mp_id, potential=potential, seed=int(seed), temps=temps, ea=ea,
                            ea_aimd_same=same.strip(), date=date, source=note))
    return runs, eas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=Path, default=RECORDS, help="the per-run records (committed)")
    parser.add_argument("--runs", type=Path, help="trajectories (npz) to analyse into records first")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    if args.runs is not None:
        for path in write_records(args.runs, args.records):
            print(f"recorded {path.name}", file=sys.stderr)
    root = args.data / "aimd" / "kang2023"
    rows, groups = [], {}
    for r in load_records(args.records):
        mp_id, temperature, view = r["mp_id"], float(r["temperature"]), r["view"]
        full = aimd_doc(root, mp_id, temperature)
        rows.append(dict(potential=r["potential"], mp_id=mp_id, formula=full.formula, t=temperature, seed=r["seed"],
                         doc=view, full=full, ps=view.duration_ps if view else 0.0, ms=r["ms_per_atom_step"],
                         d=d_text(view) if r["status"].startswith("completed") else r["status"][:24],
                         hops=view.n_hops if view else 0, melt=melt_text(view), ratio=ratio_text(view, full),
                         date=r["date"], aimd_d=d_text(full), aimd_melt=melt_text(full)))
        groups.setdefault((mp_id, r["potential"], r["seed"]), []).append(r)
    print("Per run: cell x potential x T x seed (0.5 ps equilibration + 'ps' of production, 2 fs; D in cm2/s "
          "[95 % interval] or 95 % upper bound; framework: the melting detector and the mean fraction of framework "
          "atoms off site; D/D_AIMD against the 60 ps AIMD at the same T; ms/at-step: MD wall, 1 thread, shared "
          "machine)")
    print(f"{'cell':11s} {'formula':11s} {'potential':20s} {'T':>5s} {'seed':>8s} {'ps':>4s} {'framework':>11s} "
          f"{'D force field':>24s} {'hops':>5s} {'D/D_AIMD':>8s} | {'D AIMD 60 ps':>24s} {'AIMD frame':>11s} | "
          f"{'ms/at-step':>10s} {'date':>10s}")
    for r in sorted(rows, key=lambda r: (r["mp_id"], r["t"], r["potential"], r["seed"])):
        print(f"{r['mp_id']:11s} {r['formula']:11s} {r['potential']:20s} {r['t']:5.0f} {r['seed']:8d} {r['ps']:4.1f} "
              f"{r['melt']:>11s} {r['d']:>24s} {r['hops']:5d} {r['ratio']:>8s} | {r['aimd_d']:>24s} "
              f"{r['aimd_melt']:>11s} | {r['ms']:10.2f} {r['date']:>10s}", flush=True)
    print_spread(rows)
    print_matrix(rows)
    print("\nEa (eV) where a potential ran >= 2 temperatures (one seed), vs the AIMD (60 ps) at the same "
          "temperatures and at all four (800-1700 K); dated rows: carried as printed (their runs transcribed)")
    print(f"{'cell':11s} {'potential':20s} {'seed':>8s} {'T (K)':>10s} {'Ea force field':>18s} | "
          f"{'Ea AIMD same T':>18s} | {'Ea AIMD 4 T':>18s} {'date':>10s}")
    ea_path = args.records / EA_TRANSCRIBED
    carried = json.loads(ea_path.read_text()) if ea_path.exists() else []
    for (mp_id, potential, seed), recs in sorted(groups.items()):
        temps = sorted({float(r["temperature"]) for r in recs})
        if len(temps) < 2:
            continue
        all4 = ea_text([aimd_doc(root, mp_id, float(t)) for t in (800, 1100, 1400, 1700)])
        docs = [r["doc"] for r in recs if r["doc"] is not None]
        if any(r["doc"] is None and r["view"] is not None for r in recs):  # a transcribed run: no new fit
            rows = [e for e in carried if (e["mp_id"], e["potential"], e["seed"]) == (mp_id, potential, seed)]
            for e in rows or [dict(temps="/".join(f"{t:.0f}" for t in temps), ea="(transcribed run: no fit)",
                                   ea_aimd_same=ea_text([aimd_doc(root, mp_id, t) for t in temps]), date="-")]:
                print(f"{mp_id:11s} {potential:20s} {seed:8d} {e['temps']:>10s} {e['ea']:>18s} | "
                      f"{e['ea_aimd_same']:>18s} | {all4:>18s} {e['date'] or 'carried':>10s}")
            continue
        same = ea_text([aimd_doc(root, mp_id, t) for t in temps])
        print(f"{mp_id:11s} {potential:20s} {seed:8d} {'/'.join(f'{t:.0f}' for t in temps):>10s} "
              f"{ea_text(docs):>18s} | {same:>18s} | {all4:>18s} {'':>10s}")


if __name__ == "__main__":
    main()
