"""A failed stage is loud: non-zero exit, the job and the reason named, tracebacks in a log
file, what finished still written, and the report says which stages are missing.

Real parts throughout: the real ``superionic`` process and discovery flow, jobflow's
``run_locally``, montydb stores, the real builders and the CHGNet MD segment job.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from jobflow import Flow, job
from typer.testing import CliRunner

from superionic.builders import BuildFailedError, run_builders
from superionic.cli import app
from superionic.engines.local import reason_of, run_flow


def _superionic(args, home: Path, cwd: Path, timeout: int):
    import superionic

    src = str(Path(superionic.__file__).resolve().parents[1])  # this checkout, from any cwd
    env = {**os.environ, "SUPERIONIC_DATA_DIR": str(home), "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    env.pop("MP_API_KEY", None)
    env.pop("SUPERIONIC_MP_API_KEY", None)
    return subprocess.run([sys.executable, "-m", "superionic.cli", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def _log_file(stderr: str) -> Path:
    match = re.search(r"Tracebacks: (\S+\.log)", stderr)
    assert match, stderr
    return Path(match.group(1))


def test_mp_source_without_key_fails_fast_and_names_the_job(tmp_path):
    home = tmp_path / "home"
    result = _superionic(["run", "--source", "mp", "--store", f"monty://{tmp_path / 'store'}"], home, tmp_path,
                         timeout=120)
    assert result.returncode == 1, result.stderr
    assert "Stage 'screening' is missing" in result.stderr
    assert "No Materials Project API key" in result.stderr
    assert "Stage 'md stage' is missing: not run: stage 'screening' failed" in result.stderr
    log = _log_file(result.stderr).read_text()
    assert "Traceback (most recent call last)" in log and "SourceError" in log
    report = (home / "report" / "report.html").read_text()  # the report is still written
    assert "This run is incomplete" in report and "screening" in report


def test_builder_failures_raise_after_building_the_rest(monty_stores):
    monty_stores.materials.update([{"material_id": "mp-1", "formula": "Li3PS4"},
                                   {"material_id": "mp-2", "formula": "Xx2Qq"}], key="material_id")
    with pytest.raises(BuildFailedError) as raised:
        run_builders(monty_stores, "features")
    assert "features: 1 input(s) failed" in str(raised.value) and "mp-2" in str(raised.value)
    assert monty_stores.features.count() == 1  # Li3PS4 was built all the same
    assert run_builders(monty_stores, "features", strict=False) == {"features": 0}


@job
def build_features(spec: str) -> dict:
    from superionic.stores import open_stores

    return run_builders(open_stores(spec), "features")


def test_a_failing_builder_job_is_reported_with_its_reason(tmp_path):
    from superionic.stores import open_stores

    spec = f"monty://{tmp_path / 'store'}"
    stores = open_stores(spec)
    stores.materials.update([{"material_id": "mp-2", "formula": "Xx2Qq"}], key="material_id")
    builder_job = build_features(spec)
    outcome = run_flow(Flow([builder_job]), stores.job_store(), log_dir=tmp_path / "logs")
    assert not outcome.ok
    [failure] = outcome.failures
    assert failure.job == "build_features" and failure.reason.startswith("superionic.builders.registry.BuildFailedError")
    assert "mp-2" in failure.reason and outcome.log_path.read_text().count("Traceback") == 1

    result = CliRunner().invoke(app, ["build", "features", "--store", spec])
    assert result.exit_code == 1 and "mp-2" in result.output


def test_reason_of_takes_the_last_exception_on_one_line():
    tb = (
        "Traceback (most recent call last):\n  File \"x.py\", line 1, in f\n    g()\n"
        "KeyError: 'a'\n\nThe above exception was the direct cause of the following exception:\n\n"
        "Traceback (most recent call last):\n  File \"y.py\", line 2, in h\n"
        "pydantic_core._pydantic_core.ValidationError: 1 validation error for M\n"
        "  Value error, steps must be > 0 [type=value_error]\n"
        "    For further information visit https://errors.pydantic.dev/2/v/value_error\n"
    )
    assert reason_of(tb) == ("pydantic_core._pydantic_core.ValidationError: 1 validation error for M "
                             "Value error, steps must be > 0 [type=value_error]")


HOT = """\
name: hot
classifier: {algorithms: [gb, lgbm], n_splits: 2, n_iter: 0}
structure: {enabled: false}  # minutes of CPU on 440 survivors; tested in test_structure_stage.py
candidates: {top_n: 1, material_ids: [mp-13725]}
md: {engine: forcefield, preset: quick, temperatures: [%s], equilibration_steps: 5, production_steps: 5}
"""


@pytest.mark.slow
def test_failing_md_segment_and_unrunnable_md_exit_non_zero(tmp_path):
    """A segment that blows up at 1e9 K, then a recipe whose MD cannot be set up at all."""
    home, store = tmp_path / "home", f"monty://{tmp_path / 'store'}"
    recipe = tmp_path / "hot.yaml"
    recipe.write_text(HOT % "1.0e+9")
    result = _superionic(["run", "--recipe", str(recipe), "--store", store], home, tmp_path, timeout=600)
    assert result.returncode == 1, result.stderr
    # the per-step check stops the segment at its first step (superionic.md.engines.dynamics)
    assert re.search(r"Job 'MD segment Li3PO4 1000000000 K \w+ 1/1' failed: atoms flung at step 1", result.stderr)
    assert re.search(r"Screening: \d+ survivors", result.stdout) and "trained a new surrogate" in result.stdout
    assert "MD: 1 candidate(s) mp-13725" in result.stdout  # the stage itself finished and was built
    assert "This run is incomplete" in (home / "report" / "report.html").read_text()

    recipe.write_text((HOT % "1000").replace("production_steps: 5", "production_steps: 7"))
    result = _superionic(["run", "--recipe", str(recipe), "--store", store], home, tmp_path, timeout=600)
    assert result.returncode == 1, result.stderr
    assert "Stage 'md stage' is missing: pydantic_core._pydantic_core.ValidationError" in result.stderr
    assert "production_steps=7 must be a multiple" in result.stderr
    assert "reused the stored surrogate" in result.stdout  # what finished before is kept


def test_submit_local_exits_non_zero_on_a_failed_job(tmp_path):
    args = ["submit", "--engine", "local", "--recipe", str(_mp_recipe(tmp_path)),
            "--store", f"monty://{tmp_path / 'store'}"]
    result = _superionic(args, tmp_path / "home", tmp_path, timeout=120)
    assert result.returncode == 1, result.stderr
    assert "job 'screening' failed" in result.stderr and "No Materials Project API key" in result.stderr
    assert "tracebacks:" in result.stderr


def _mp_recipe(tmp_path: Path) -> Path:
    path = tmp_path / "mp.yaml"
    path.write_text("name: mp\nsource: mp\n")
    return path
