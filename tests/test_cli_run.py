"""``superionic run`` as a user runs it: a real process, Ctrl-C in the MD stage, a rerun.

A tiny recipe keeps it short: 2 classifier splits, one candidate, a few MD steps.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

TINY = """\
name: tiny
classifier: {algorithms: [gb, lgbm], n_splits: 2, n_iter: 0}
structure: {enabled: false}  # minutes of CPU on 440 survivors; tested in test_structure_stage.py
candidates: {top_n: 1, material_ids: [mp-13725]}
md: {engine: forcefield, preset: quick, temperatures: [1000, 1200], equilibration_steps: 5, production_steps: 400}
"""


def _default_sigint() -> None:
    # A shell starts background commands with SIGINT ignored, and a child inherits that (Python
    # then installs no KeyboardInterrupt handler): the Ctrl-C below would never arrive.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _run(args, env, cwd, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "superionic.cli", *args], env=env, cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_sigint, **kwargs)


def _segments_done(spec: str) -> int:
    """Finished MD segments in the store, read from a copy of its folder.

    The running ``superionic run`` owns the montydb folder: opening it here at the same time
    races with its creation (half-written storage config, tables not made yet), so the poll
    reads a snapshot and counts 0 when the snapshot is not readable yet.
    """
    import shutil
    import tempfile

    from superionic.stores import open_stores

    folder = Path(spec.removeprefix("monty://"))
    if not any(folder.glob("*/jobs.collection")):
        return 0  # no job has finished yet (and the storage config may be mid-write)
    with tempfile.TemporaryDirectory() as snapshot:
        try:
            shutil.copytree(folder, Path(snapshot) / "store")
            stores = open_stores(f"monty://{Path(snapshot) / 'store'}")
        except Exception:  # a file copied mid-write: try again at the next poll
            return 0
        try:
            return stores.jobs.count({"output.segment_key": {"$exists": True}})
        except Exception:
            return 0
        finally:
            stores.close()


def test_ctrl_c_then_rerun_resumes(tmp_path):
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(TINY)
    spec = f"monty://{tmp_path / 'store'}"
    env = {**os.environ, "SUPERIONIC_DATA_DIR": str(tmp_path / "home")}
    args = ["run", "--recipe", str(recipe), "--store", spec]

    first = _run(args, env, tmp_path)
    deadline = time.time() + 600
    while _segments_done(spec) < 3 and first.poll() is None and time.time() < deadline:
        time.sleep(1)
    assert first.poll() is None, first.communicate()
    first.send_signal(signal.SIGINT)
    _, err = first.communicate(timeout=120)
    assert first.returncode == 130, err
    assert "Interrupted" in err and "run the same command again" in err
    done_before = _segments_done(spec)

    second = _run(args, env, tmp_path)
    out, err = second.communicate(timeout=900)
    assert second.returncode == 0, err
    assert "reused the stored surrogate" in out
    assert "Structural evidence: off in this recipe" in out  # TINY switches the stage off
    reused = int(out.split(" reused from an earlier run")[0].rsplit(", ", 1)[-1])
    assert reused >= done_before - 1  # every finished segment taken over (one may be mid-write)
    from superionic.stores import open_stores

    stores = open_stores(spec)
    assert stores.conductivity.count() == 1 and stores.diffusion.count() == 2
    assert stores.materials.count() == 560 and stores.funnel.count() == 1
    assert Path(env["SUPERIONIC_DATA_DIR"], "report", "report.html").is_file()


def test_unwritable_report_dir_is_a_clear_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    from typer.testing import CliRunner

    from superionic.cli import app

    result = CliRunner().invoke(app, ["report", "--store", f"monty://{tmp_path / 's'}", "--out", str(blocker / "report")])
    assert result.exit_code == 2
    assert str(blocker) in result.output
