"""The HTML report, built from a montydb store filled by the real pipeline functions.

Documents: the real screening of the bundled snapshot; a real GB + LightGBM study (3 random
and 3 grouped splits, library defaults) with its surrogate and predictions of the survivors;
real DiffusionDocs / ConductivityDoc from the seed authors' AIMD of Li3ErCl6 (mp-676361, 1700 K
excluded for framework melting), and one DiffusionDoc without a fit (Li2GePbS4, mp-19896, 800 K).
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from superionic.report import ReportError, build_report

FITTED, UNFITTED = "mp-676361", "mp-19896"
FULL_FIGURES = {
    "training_conductivity", "training_classes", "funnel_snapshot", "anions_snapshot",
    "accuracy", "confusion", "votes", f"msd_{FITTED}", f"arrhenius_{FITTED}",
    f"msd_{UNFITTED}", f"arrhenius_{UNFITTED}", "reliability",
}
EMPTY_FIGURES = {"training_conductivity", "training_classes"}


class ReportParser(HTMLParser):
    """Images, notes, problems, section ids, table rows and footer text of a report."""

    def __init__(self):
        super().__init__()
        self.images: list[dict] = []
        self.sections: list[str] = []
        self.notes: list[str] = []
        self.problems: list[str] = []
        self.rows: list[list[str]] = []
        self.footer = ""
        self._stack: list[tuple[str, dict]] = []
        self._text: list[str] = []
        self._row: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs)
            return
        if tag == "section":
            self.sections.append(attrs.get("id", ""))
        if tag == "tr":
            self._row = []
        if tag in ("p", "td", "th"):
            self._text = []
        self._stack.append((tag, attrs))

    def handle_endtag(self, tag):
        if not self._stack:
            return
        open_tag, attrs = self._stack.pop()
        text = "".join(self._text).strip()
        if open_tag == "p" and attrs.get("class") == "note":
            self.notes.append(text)
        elif open_tag == "p" and attrs.get("class") == "problem":
            self.problems.append(text)
        elif open_tag in ("td", "th") and self._row is not None:
            self._row.append(text)
        elif open_tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        self._text.append(data)
        if any(tag == "footer" for tag, _ in self._stack):
            self.footer += data


def parse(path: Path) -> ReportParser:
    parser = ReportParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def check_figure(png: bytes) -> Image.Image:
    """A real, non-blank PNG: decodes, is not tiny, has many distinct colours."""
    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.format == "PNG"
    assert image.width >= 300 and image.height >= 200
    packed = rgb_codes(image)
    assert packed.std() > 0
    assert len(np.unique(packed)) > 20  # a plot, not a flat colour
    return image


def rgb_codes(image: Image.Image) -> np.ndarray:
    """Each pixel's colour as one integer 0xRRGGBB."""
    p = np.asarray(image.convert("RGB")).astype(np.uint32)
    return (p[..., 0] << 16) | (p[..., 1] << 8) | p[..., 2]


def data_uri_png(src: str) -> bytes:
    prefix = "data:image/png;base64,"
    assert src.startswith(prefix), src[:40]
    return base64.b64decode(src[len(prefix):], validate=True)


# --- the populated store ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def full(tmp_path_factory, shared_data):
    """(stores, report path): a store filled by the real pipeline, and its report."""
    from superionic.jobs.screening import run_screening
    from superionic.md.analysis.arrhenius import conductivity_from_diffusion
    from superionic.md.analysis.diffusion import diffusion_from_trajectory
    from superionic.ml.dataset import training_matrix
    from superionic.ml.documents import study_documents
    from superionic.ml.predict import predict_screened
    from superionic.ml.sanity import record_panel
    from superionic.ml.study import StudyConfig, run_study
    from superionic.ml.surrogate import Surrogate
    from superionic.settings import get_settings
    from superionic.stores import open_stores

    root = tmp_path_factory.mktemp("report_full")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SUPERIONIC_DATA_DIR", str(root / "home"))
        mp.setenv("SUPERIONIC_CONFIG_FILE", str(root / "absent.yaml"))
        get_settings.cache_clear()
        stores = open_stores(f"monty://{root / 'store'}")
        run_screening(stores, "snapshot", show_progress=False)

        aimd = shared_data / "aimd" / "kang2023"
        docs = [diffusion_from_trajectory(aimd / FITTED / f"{t}_nteps_100.json.gz",
                                          material_id=FITTED, engine="vasp")
                for t in (800, 1100, 1400, 1700)]
        lone = diffusion_from_trajectory(aimd / UNFITTED / "800_nteps_100.json.gz",
                                         material_id=UNFITTED, engine="vasp")
        stores.diffusion.update([d.to_store() for d in [*docs, lone]], key="doc_id")
        stores.conductivity.update([conductivity_from_diffusion(docs).to_store()], key="material_id")

        data = training_matrix()
        config = StudyConfig(algorithms=["gb", "lgbm"], protocols=("random", "grouped"),
                             n_splits=3, n_iter=0)
        study = run_study(data.X, data.y, config, families=data.families)
        stores.models.update([d.to_store() for d in study_documents(study, data)], key="study_id")
        surrogate = Surrogate.from_study(study, data, root / "models")
        surrogate.calibrate(data, n_repeats=1)
        record_panel(surrogate, data)
        stores.models.update([surrogate.doc.to_store()], key="model_id")
        predict_screened(stores, surrogate)

        path = build_report(stores, root / "report")
        yield stores, path
        stores.close()
    get_settings.cache_clear()


def test_full_report_has_every_figure_embedded_and_on_disk(full):
    _, path = full
    report = parse(path)
    names = {img.get("data-file", "").removesuffix(".png") for img in report.images}
    assert names == FULL_FIGURES
    for img in report.images:
        png = data_uri_png(img["src"])
        image = check_figure(png)
        assert (int(img["width"]), int(img["height"])) == image.size
        assert img["alt"]
        assert (path.parent / "figures" / img["data-file"]).read_bytes() == png
    assert sorted(p.stem for p in (path.parent / "figures").glob("*.png")) == sorted(FULL_FIGURES)
    # self-contained: nothing fetched from elsewhere
    text = path.read_text()
    assert "<script" not in text and "<link" not in text and "url(" not in text
    assert "http://" not in text and "https://" not in text
    assert report.notes == [] or all("not computed yet" not in n.lower() for n in report.notes)
    assert report.problems == []
    assert report.sections == ["summary", "training", "screening", "classifier", "calibration", "votes", "md"]
    assert any(r and r[0] == "LiCl" and r[2] == "poor" for r in report.rows)  # the sanity panel
    # the calibration paragraph names the map used and the ECE's noise on these rows
    assert "mapped by isotonic regression" in text and "a perfectly calibrated model would show ECE" in text


def test_full_report_numbers_come_from_the_store(full):
    from superionic.schemas.md import ConductivityDoc
    from superionic.schemas.screening import FunnelDoc

    stores, path = full
    report = parse(path)
    funnel = FunnelDoc(**{k: v for k, v in stores.funnel.query_one({"funnel_id": "snapshot"}).items()
                          if k != "_id"})
    for step in funnel.steps:
        row = next(r for r in report.rows if r and r[0] == step.name)
        assert row[2:5] == [f"{step.survivors:,}", f"{step.failed:,}", f"{step.unknown:,}"]

    cond = ConductivityDoc(**{k: v for k, v in stores.conductivity.query_one(
        {"material_id": FITTED}).items() if k != "_id"})
    assert cond.excluded and cond.excluded[0].temperature == 1700  # the melted run
    row = next(r for r in report.rows if r and r[0] == FITTED)
    assert row[6].startswith(f"{cond.sigma300:.2e} [") and row[7] == f"MD: {cond.verdict}"
    assert next(r for r in report.rows if r and r[0] == UNFITTED)[7] == "MD: not fitted"
    text = path.read_text()
    assert "excluded from the fit: 1700 K (framework_melting)" in text
    assert "No ConductivityDoc" in text  # the unfitted candidate says so

    predictions = [p for p in stores.predictions.query({}) if p.get("votes_gb") is not None]
    best = min(predictions, key=lambda p: p["rank"])
    row = next(r for r in report.rows if r and r[0] == best["material_id"])
    n = best["n_splits"]
    assert row[3:6] == [f"{best['votes_gb']}/{n}", f"{best['votes_lgbm']}/{n}", f"{best['prob_calibrated']:.3f}"]
    assert row[8].startswith(f"{best['votes_gb']}/{n} + {best['votes_lgbm']}/{n} votes, needs all: ")
    assert row[9] == {True: "in", False: "OUT"}[best["in_domain"]]
    candidate_rows = [r for r in report.rows if r and r[0].startswith("mp-")]
    md_only = {FITTED, UNFITTED} - {p["material_id"] for p in predictions}
    assert len(candidate_rows) == len(predictions) + len(md_only)  # + MD-only candidates

    from superionic import __version__

    assert f"superionic {__version__}" in report.footer
    assert stores.spec in report.footer and "doi:10.1021/acs.jpcc.3c02908" in report.footer


# --- missing data, bad documents, write errors -------------------------------------------------


def test_empty_store_says_what_to_run(monty_stores, tmp_path):
    path = build_report(monty_stores, tmp_path / "out")
    report = parse(path)
    assert {i["data-file"].removesuffix(".png") for i in report.images} == EMPTY_FIGURES
    for img in report.images:
        check_figure(data_uri_png(img["src"]))
    notes = " | ".join(report.notes)
    for command in ("superionic screen", "superionic train", "superionic predict", "superionic md"):
        assert command in notes
    assert report.problems == []


def test_documents_of_another_schema_are_listed_not_fatal(monty_stores, tmp_path):
    monty_stores.predictions.update([{"material_id": "mp-1", "votes_gb": "many"}], key="material_id")
    monty_stores.diffusion.update([{"doc_id": "mp-2:800K", "material_id": "mp-2"}], key="doc_id")
    report = parse(build_report(monty_stores, tmp_path / "out"))
    problems = " | ".join(report.problems)
    assert "PredictionDoc" in problems and "mp-1" in problems
    assert "DiffusionDoc" in problems and "mp-2:800K" in problems
    assert any("superionic predict" in n for n in report.notes)


def test_report_directory_blocked_by_a_file(monty_stores, tmp_path):
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("x")
    with pytest.raises(ReportError) as info:
        build_report(monty_stores, blocker / "report")
    assert str(blocker) in str(info.value) and "--out" in str(info.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_read_only_report_directory(monty_stores, tmp_path):
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o500)
    try:
        with pytest.raises(ReportError, match="writable"):
            build_report(monty_stores, out)
    finally:
        out.chmod(0o700)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
def test_full_disk_is_a_clear_error(monty_stores, tmp_path):
    """/dev/full answers every write with ENOSPC, as a full disk does."""
    figures = tmp_path / "out" / "figures"
    figures.mkdir(parents=True)
    (figures / "training_conductivity.png").symlink_to("/dev/full")
    with pytest.raises(ReportError) as info:
        build_report(monty_stores, tmp_path / "out")
    message = str(info.value)
    assert "No space left" in message and "training_conductivity.png" in message
    assert info.value.path.name == "training_conductivity.png"
    assert not (tmp_path / "out" / "report.html").exists()


def test_cli_writes_the_report_and_fails_clearly(monty_stores, tmp_path):
    import typer
    from typer.testing import CliRunner

    from superionic.cli.report import register

    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # a second command keeps 'report' a named subcommand
    runner = CliRunner()
    spec = monty_stores.spec
    result = runner.invoke(app, ["report", "--store", spec, "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r" / "report.html").is_file()
    assert str(tmp_path / "r" / "report.html") in result.output.replace("\n", "")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = runner.invoke(app, ["report", "--store", spec, "--out", str(blocker / "r")])
    assert result.exit_code == 2
    assert "Error" in result.output and "--out" in result.output


# --- a real browser ----------------------------------------------------------------------------


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _run_chromium(args: list[str], user_dir: Path) -> subprocess.CompletedProcess:
    command = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={user_dir}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(_chromium() is None,
                    reason="chromium is not installed (Debian: apt-get install -y chromium)")
def test_report_renders_in_headless_chromium(full, tmp_path):
    _, path = full
    url = path.resolve().as_uri()
    dom = _run_chromium(["--dump-dom", url], tmp_path / "profile-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    rendered = ReportParser()
    rendered.feed(dom.stdout)
    assert {i["data-file"].removesuffix(".png") for i in rendered.images} == FULL_FIGURES
    for img in rendered.images:
        check_figure(data_uri_png(img["src"]))

    shot = tmp_path / "shot.png"
    run = _run_chromium([f"--screenshot={shot}", "--window-size=1280,10000", "--hide-scrollbars", url],
                        tmp_path / "profile-shot")
    assert run.returncode == 0 and shot.is_file(), run.stderr[-2000:]
    codes = rgb_codes(Image.open(shot))
    assert codes.shape == (10000, 1280)
    assert len(np.unique(codes)) > 200  # not blank
    # colours only the figures use (GB green, LightGBM orange, not-superionic blue): painted
    for color in (0x1B9E77, 0xD95F02, 0x2C7FB8):
        assert (codes == color).sum() > 1000, f"#{color:06x} not on the page: figures not rendered"
