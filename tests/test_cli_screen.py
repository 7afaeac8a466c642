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
    again = runner.invoke(app, ["screen", "--store", spec])
    assert again.exit_code == 0
    assert "oxidation_voltage" in again.stdout
    from superionic.stores import open_stores

    stores = open_stores(spec)
    assert stores.materials.count() == 560 and stores.screening.count() == 560


def test_screen_bad_store_and_source(tmp_path):
    bad = runner.invoke(app, ["screen", "--store", "nosuch://x"])
    assert bad.exit_code == 2 and "nosuch://x" in bad.output
    src = runner.invoke(app, ["screen", "--source", "icsd", "--store", f"monty://{tmp_path}"])
    assert src.exit_code == 2 and "Unknown source" in src.output
    files = runner.invoke(app, ["screen", "--source", "files", str(tmp_path / "nope"), "--store", f"monty://{tmp_path}"])
    assert files.exit_code == 2 and "does not exist" in files.output
