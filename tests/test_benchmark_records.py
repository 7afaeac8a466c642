"""The force-field table's committed per-run records stay readable.

``benchmarks/results/forcefield_runs/`` holds one JSON record per force-field MD run of the
table (its DiffusionDoc and summary); the table and the figure are drawn from them alone, because
the trajectories live outside git and a machine can lose them (it did once: those records were
transcribed from the printed table, ``"doc": null``). A change to the diffusion document's schema
or to the summary that left the records unreadable, or out of step with their documents, fails
here, on a fresh clone (no ``../shared`` needed).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from superionic.schemas.md import DiffusionDoc

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
RECORDS = BENCHMARKS / "results" / "forcefield_runs"
SUMMARY_KEYS = {"duration_ps", "melted", "framework_displaced_mean", "d_status", "diffusivity",
                "diffusivity_ci95", "diffusivity_upper95", "n_hops"}


def _table_module():
    spec = importlib.util.spec_from_file_location("forcefield_vs_aimd_table", BENCHMARKS / "forcefield_vs_aimd_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def table():
    return _table_module()


def test_every_record_loads_and_names_its_run(table) -> None:
    records = table.load_records(RECORDS)
    assert len(records) >= 77  # the table as of acbdb46, transcribed
    for r in records:
        assert r["potential"] and r["mp_id"].startswith("mp-") and r["temperature"] in (800.0, 1100.0)
        assert r["status"].startswith("completed") or r["summary"] is None
        if r["summary"] is not None:
            assert SUMMARY_KEYS <= set(r["summary"]), r["mp_id"]
            assert r["summary"]["d_status"] in ("resolved", "upper_bound", "none")
    for path in RECORDS.glob("*_mp-*_*K_s*.json"):  # the file is named after its run
        r = json.loads(path.read_text())
        name = f"{r['potential']}_{r['mp_id']}_{r['temperature']:.0f}K_s{r['seed']}"
        assert path.stem in (name, f"{name}_{r['date']}"), path.name


def test_recorded_documents_validate_and_match_their_summary(table) -> None:
    """A record's DiffusionDoc validates under today's schema and gives back its stored summary."""
    for path in sorted(RECORDS.glob("*_mp-*_*K_s*.json")):
        raw = json.loads(path.read_text())
        if raw["doc"] is None:
            assert "transcribed" in raw["source"] or raw["summary"] is None, path.name
            continue
        doc = DiffusionDoc.model_validate(raw["doc"])
        assert table.summary(doc) == raw["summary"], path.name


def test_a_transcribed_row_reads_back_as_printed(table, tmp_path: Path) -> None:
    """The transcription of a printed row keeps its numbers: the row printed again from the record is
    the same text (D, interval, hops, framework, D/D_AIMD)."""
    printed = ("mp-532413   Li5B7S13    sevennet-0             800        1  2.5 intact 0.00    "
               "8.8e-05 [4e-05,1e-04]    51     2.22 |    4.0e-05 [3e-05,5e-05] intact 0.00 |      16.17 2026-12-07")
    bound = ("mp-557892   BaLi(BS2)3  chgnet-0.3.0          1100 20231025  2.5 MELTED 0.58                   "
             "melted    50        - |               <= 2.0e-05 intact 0.01 |       0.79 2026-12-07")
    page = tmp_path / "table.txt"
    page.write_text("Per run: ...\ncell ...\n" + printed + "\n" + bound + "\n")
    runs, eas = table.transcribe(page, "transcribed in a test")
    assert eas == [] and len(runs) == 2
    (tmp_path / "records").mkdir()
    for r in runs:
        name = f"{r['potential']}_{r['mp_id']}_{r['temperature']:.0f}K_s{r['seed']}.json"
        (tmp_path / "records" / name).write_text(json.dumps(r))
    views = {r["mp_id"]: r["view"] for r in table.load_records(tmp_path / "records")}
    li5 = views["mp-532413"]
    assert table.d_text(li5) == "8.8e-05 [4e-05,1e-04]" and li5.n_hops == 51
    assert table.melt_text(li5) == "intact 0.00" and li5.d_over_aimd_printed == 2.22
    ba = views["mp-557892"]
    assert table.melted(ba) and table.d_text(ba) == "melted" and table.melt_text(ba) == "MELTED 0.58"


def _view(melted: bool = False, d_status: str = "resolved", d: float = 1e-5, ratio: float | None = None):
    from types import SimpleNamespace

    return SimpleNamespace(flags=["framework_melting: test"] if melted else [], d_status=d_status, diffusivity=d,
                           diffusivity_ci95=(d / 2, d * 2), diffusivity_upper95=d, d_over_aimd_printed=ratio)


def test_the_at_a_glance_entry_says_where_a_potential_departs_from_the_aimd(table) -> None:
    """One cell x T x potential over its seeds: a melt where the AIMD holds is called out, a melt as
    the AIMD's is not, and D/D_AIMD is a range over the resolved runs, flagged outside 3x."""
    aimd = _view(d=1e-5)
    runs = lambda *views: [dict(doc=v, full=aimd) for v in views]  # noqa: E731
    assert table.agreement(runs(_view(melted=True), _view()))[0] == "MELTS 1/2"
    text, counts = table.agreement(runs(_view(d=1.5e-5), _view(d=2.5e-5), _view(d_status="upper_bound", d=8e-5)))
    assert text == "ok 1.50-2.50x; <=8.00x (3)"
    assert counts == dict(runs=3, framework_as_aimd=3, resolved=2, within=2)
    assert table.agreement(runs(_view(d=5e-5)))[0] == "ok 5.00x!"
    melting = _view(melted=True, d_status="none")
    assert table.agreement([dict(doc=_view(melted=True), full=melting)])[0] == "melts"
    assert table.agreement([dict(doc=_view(), full=melting)])[0] == "KEEPS 1/1"
    assert table.agreement(runs(None))[0] == "failed"
