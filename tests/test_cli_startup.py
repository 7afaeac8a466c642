"""The command registry is static and ``superionic --help`` imports no command module.

Speed itself is measured by ``benchmarks/cli_startup.py`` (no timed assertions here).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

import superionic
from superionic.cli import COMMANDS, app, module_commands

HEAVY = ("torch", "maggma", "pymatgen.core", "jobflow", "matminer", "sklearn", "pandas",
         "pydantic_settings", "atomate2", "chgnet", "lightgbm")


def test_registry_matches_what_the_modules_register():
    modules = {module for module, _ in COMMANDS.values()}
    registered = {name: module for module in modules for name in module_commands(module)}
    assert registered == {name: module for name, (module, _) in COMMANDS.items()}
    assert all(help_text.strip() for _, help_text in COMMANDS.values())


def test_root_help_lists_every_command_without_importing_them():
    code = (
        "import sys, json\n"
        "sys.argv = ['superionic', '--help']\n"
        "from superionic.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print(json.dumps([m for m in sys.modules if m.split('.')[0] in {[h.split('.')[0] for h in HEAVY]!r}"
        " or m.startswith('superionic.cli.')]))\n"
    )
    src = str(Path(superionic.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    help_text, loaded = out.rsplit("\n", 2)[0], json.loads(out.rstrip().rsplit("\n", 1)[-1])
    assert loaded == []
    for name in COMMANDS:
        assert name in help_text


def test_commands_run_and_typos_get_a_suggestion():
    runner = CliRunner()
    result = runner.invoke(app, ["query", "--help"])
    assert result.exit_code == 0 and "--min-sigma" in result.output
    result = runner.invoke(app, ["qeury"])
    assert result.exit_code == 2 and "query" in result.output
