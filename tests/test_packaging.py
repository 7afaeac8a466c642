"""The wheel is the product: it carries the recipes, store specs and bundled data, and an
installed copy runs with no checkout around (from another directory, with a fresh HOME).

The wheel is built from a copy of the sources (so the checkout gets no build/ folder) with
the same setuptools build that ``pip install .`` uses; it is then unpacked as an installed
package would be and run with ``PYTHONPATH`` pointing at it only. CI (``.ci/run``) goes one
step further: ``pip install`` of the wheel into a fresh venv and ``superionic run``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "src", "flows", "stores")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("sdist")
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(path, src / name)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(out), str(src)], check=True, capture_output=True, text=True)
    [built] = out.glob("superionic-*.whl")
    return built


def test_wheel_carries_recipes_store_specs_and_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    with zipfile.ZipFile(wheel) as zf:
        for folder in ("flows", "stores"):
            files = sorted((REPO / folder).glob("*.yaml"))
            assert files
            for path in files:
                assert zf.read(f"superionic/data/{folder}/{path.name}") == path.read_bytes()
    data = REPO / "src" / "superionic" / "data"
    bundled = {f"superionic/data/{p.relative_to(data).as_posix()}" for p in data.rglob("*") if p.is_file()}
    assert bundled and bundled <= names
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    requires = [line for line in zipfile.ZipFile(wheel).read(metadata).decode().splitlines()
                if line.startswith("Requires-Dist:")]
    assert not any("torch==" in r for r in requires)  # the CPU pin is in the install commands
    assert not any(r.split()[1].startswith(("kinisi", "pymatgen-analysis-diffusion")) and "extra" not in r
                   for r in requires)


def test_installed_wheel_runs_without_the_checkout(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    home, work = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUPERIONIC_", "MP_API"))}
    env.update(HOME=str(home), PYTHONPATH=str(site), OMP_NUM_THREADS="1")
    probe = ("import json, superionic; from superionic.recipes import load_recipe, recipes_dir;"
             "from superionic.stores import resolve_spec;"
             "print(json.dumps([superionic.__file__, str(recipes_dir()), load_recipe('quick').name,"
             " resolve_spec('local')['type']]))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=work, env=env, capture_output=True, text=True, check=True)
    package_file, recipes, name, kind = json.loads(out.stdout)
    assert Path(package_file).is_relative_to(site) and Path(recipes).is_relative_to(site)
    assert (name, kind) == ("quick", "monty")

    screened = subprocess.run([sys.executable, "-m", "superionic.cli", "screen", "--json"], cwd=work, env=env,
                              capture_output=True, text=True, timeout=600)
    assert screened.returncode == 0, screened.stderr
    result = json.loads(screened.stdout)
    assert result["funnel"] and len(result["survivors"]) > 0  # the bundled snapshot was found
    assert (home / ".superionic" / "store").is_dir()  # the default store went to the fresh HOME


def test_torch_is_pinned_in_every_install_command_and_docker_uses_the_cpu_build():
    import re

    installs = {
        "Makefile": (REPO / "Makefile").read_text(),
        ".ci/run": (REPO / ".ci" / "run").read_text(),
        "docker/compose.yaml": (REPO / "docker" / "compose.yaml").read_text(),
    }
    for name, text in installs.items():
        assert "torch==2.13.0" in text, name
        assert not re.search(r"pip install[^\n]*\btorch\b(?!==)", text.replace("torch==2.13.0", "")), name
    compose_torch = [line for line in installs["docker/compose.yaml"].splitlines() if "torch==" in line]
    assert compose_torch and all("download.pytorch.org/whl/cpu" in line for line in compose_torch)
    pyproject = (REPO / "pyproject.toml").read_text()
    assert '"torch==' not in pyproject and '"kinisi' not in pyproject.split("[project.optional-dependencies]")[0]
