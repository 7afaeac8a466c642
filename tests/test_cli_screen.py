"""``superionic screen`` and ``--help`` through the real console script entry point."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from superionic.cli import app

runner = CliRunner()


def test_help_lists_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "screen" in result.output
    screen_help = runner.invoke(app, ["screen", "--help"])
    assert "--source" in screen_help.output and "--json" in screen_help.output


def test_screen_json_is_pure_json_and_rerun_adds_nothing(tmp_path):
    spec = f"monty://{tmp_path / 'store'}"
    result = runner.invoke(app, ["screen", "--store", spec, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    steps = data["funnel"]["steps"]
    assert steps[0]["survivors"] == 560
    assert len(data["survivors"]) == steps[-1]["survivors"] > 0
    assert 420 <= steps[-1]["survivors"] <= 470 and steps[-1]["unknown"] <= 30
    for doc in data["survivors"]:  # both voltages and the convention the verdict used
        assert doc["voltage_convention"] == "seed"
        assert doc["oxidation_limit_v"] is not None and doc["oxidation_voltage_seed_v"] is not None
    again = runner.invoke(app, ["screen", "--store", spec])
    assert again.exit_code == 0
    assert "oxidation_voltage" in again.stdout
    from superionic.stores import open_stores

    stores = open_stores(spec)
    assert stores.materials.count() == 560 and stores.screening.count() == 560
    physical = runner.invoke(app, ["screen", "--store", spec, "--json", "--convention", "li_metal"])
    assert physical.exit_code == 0, physical.output
    survivors = json.loads(physical.stdout)["survivors"]
    assert {d["voltage_convention"] for d in survivors} == {"li_metal"}
    assert all(d["oxidation_limit_v"] > 3.7 for d in survivors) and len(survivors) < 300
    bad = runner.invoke(app, ["screen", "--store", spec, "--convention", "vs_she"])
    assert bad.exit_code == 2 and "seed or li_metal" in bad.output


def test_screen_bad_store_and_source(tmp_path):
    bad = runner.invoke(app, ["screen", "--store", "nosuch://x"])
    assert bad.exit_code == 2 and "nosuch://x" in bad.output
    src = runner.invoke(app, ["screen", "--source", "icsd", "--store", f"monty://{tmp_path}"])
    assert src.exit_code == 2 and "Unknown source" in src.output
    files = runner.invoke(app, ["screen", "--source", "files", str(tmp_path / "nope"), "--store", f"monty://{tmp_path}"])
    assert files.exit_code == 2 and "does not exist" in files.output


def test_query_shows_the_physical_voltage_beside_the_seed_verdict(tmp_path):
    spec = f"monty://{tmp_path / 'store'}"
    assert runner.invoke(app, ["screen", "--store", spec, "--json"]).exit_code == 0
    result = runner.invoke(app, ["query", "--store", spec, "--format", "json", "--all"])
    assert result.exit_code == 0, result.output
    rows = {r["formula"]: r for r in json.loads(result.stdout)}
    hit = rows["Li5B7S13"]
    assert hit["voltage_convention"] == "seed" and hit["v_ox_seed"] - hit["v_ox_li_metal"] > 1.9
    assert hit["screening_note"] == f"passes the seed's screen; oxidises at {hit['v_ox_li_metal']:.2f} V vs Li"
    assert rows["Li2Te"]["screening_note"].startswith("fails at oxidation_voltage (the seed's screen)")


def test_screen_files_prints_what_was_unknown_and_why(tmp_path):
    from pymatgen.core import Lattice, Structure

    folder = tmp_path / "cifs"
    folder.mkdir()
    # Li6OCl4: a made-up composition that neither MP-2019 nor Wang 2024 holds
    Structure(Lattice.cubic(7.0), ["Li"] * 6 + ["O"] + ["Cl"] * 4,
              [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5], [0.25, 0.25, 0.25],
               [0.75, 0.25, 0.25], [0.5, 0.5, 0.5], [0.75, 0.75, 0.25], [0.75, 0.25, 0.75],
               [0.25, 0.75, 0.75], [0.75, 0.75, 0.75]]).to(filename=str(folder / "made_up.cif"))
    result = runner.invoke(app, ["screen", "--source", "files", str(folder),
                                 "--store", f"monty://{tmp_path / 'store'}"])
    assert result.exit_code == 0, result.output
    assert "1 material(s) unknown" in result.output
    assert "at band_gap" in result.output and "not in the bundled MP-2019 data" in result.output
    full = runner.invoke(app, ["screen", "--source", "files", str(folder), "--corpus", "full",
                               "--store", f"monty://{tmp_path / 'store'}"])
    assert full.exit_code == 2 and "needs --source snapshot" in full.output
