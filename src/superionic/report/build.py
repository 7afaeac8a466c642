"""``build_report``: stores -> one self-contained HTML file plus its PNG figures.

Layout of ``out_dir``::

    report.html            everything, figures embedded as data URIs
    figures/<name>.png     the same figures as files (stale ones from earlier reports removed)

Writing problems (a directory that cannot be created or written, a full disk) raise
:class:`ReportError` naming the path and what to do; missing data never raise (the sections
say what to run).
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from superionic import __version__
from superionic.report.gather import ReportData, gather
from superionic.report.html_writer import Section, render_html
from superionic.report.sections import build_sections

REPORT_NAME = "report.html"
FIGURE_DIR = "figures"
TRAINING_CITATIONS = {
    "kang2023": "Kang, Kim, Min, J. Phys. Chem. C 127, 19335 (2023), doi:10.1021/acs.jpcc.3c02908",
    "obelix": "OBELiX training split, Therrien et al., arXiv:2502.14234 (CC BY 4.0)",
    "xu2020": "Xu, Zong, Hippalgaonkar, J. Phys. Commun. 4, 055015 (2020)",
    "poor_conductors": "eight well-known poor Li conductors curated for superionic (references per row)",
}


class ReportError(Exception):
    """The report could not be written; the message names the path and the fix."""

    def __init__(self, message: str, path: Path | str, errno_code: int | None = None):
        super().__init__(message)
        self.path = Path(path)
        self.errno = errno_code


def explain_os_error(exc: OSError, path: Path, action: str = "write") -> ReportError:
    """A ReportError for an OSError met while writing ``path``."""
    fix = "choose another directory with `superionic report --out DIR`"
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        msg = (f"No space left on the device while writing {path} ({exc.strerror}). Free some "
               f"disk space (or quota), or {fix}.")
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        msg = (f"Cannot {action} {path}: {exc.strerror}. The report directory must be writable: "
               f"fix its permissions, or {fix}.")
    elif exc.errno in (errno.ENOTDIR, errno.EEXIST) or isinstance(exc, (NotADirectoryError, FileExistsError)):
        msg = (f"Cannot {action} {path}: a file is in the way of the report directory "
               f"({exc.strerror}); remove it, or {fix}.")
    else:
        msg = f"Cannot {action} {path}: {exc.strerror or exc}. Check the path, or {fix}."
    return ReportError(msg, path, exc.errno)


def write_bytes(path: Path, payload: bytes) -> None:
    """Write ``payload`` to ``path``; OSErrors become ReportErrors."""
    try:
        with open(path, "wb") as handle:
            handle.write(payload)
    except OSError as exc:
        raise explain_os_error(exc, path) from exc


def write_atomic(path: Path, payload: bytes) -> None:
    """Write via a temporary file in the same directory, then rename (no half-written report)."""
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it 0600; a report is for reading
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)
        raise explain_os_error(exc, path) from exc


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def prepare_dir(path: Path) -> Path:
    """Create ``path`` (and parents) or raise a ReportError saying why it cannot be."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise explain_os_error(exc, path, "create the report directory") from exc
    if not path.is_dir():
        raise explain_os_error(OSError(errno.ENOTDIR, "not a directory"), path, "use")
    return path


def redact(spec: str) -> str:
    """The store spec without a password (mongodb://user:secret@host -> user:***@host)."""
    from superionic.redaction import redact as redact_secrets

    return redact_secrets(spec)


def provenance(data: ReportData, when: datetime) -> list[str]:
    """Footer lines: versions, store, date, data sources."""
    counts = ", ".join(f"{k} {v}" for k, v in data.counts.items())
    lines = [
        f"Written by superionic {__version__} on {when:%Y-%m-%d %H:%M} UTC from store "
        f"{redact(data.spec)} (regenerate with `superionic report`).",
        f"Documents in the store: {counts}.",
    ]
    if data.training:
        cites = "; ".join(TRAINING_CITATIONS.get(s, s) for s in data.training.sources)
        lines.append(f"Training data: {cites}.")
    if data.funnels:
        lines.append("Corpus: " + "; ".join(f"{f.funnel_id} ({f.steps[0].survivors:,} materials)"
                                           for f in data.funnels if f.steps)
                     + ". Materials Project data (CC BY 4.0); seed funnel counts from Kang 2023 Fig. 1b.")
    if data.model:
        libs = ", ".join(f"{k} {v}" for k, v in data.model.library_versions.items() if v != "absent")
        lines.append(f"Surrogate {data.model.model_id} ({', '.join(data.model.algorithms)}, "
                     f"{data.model.n_splits} splits; {libs}).")
    md = [d for docs in data.diffusion.values() for d in docs]
    if md:
        engines = sorted({d.engine for d in md})
        sources = sorted({Path(d.source).parent.name or d.source for d in md if d.source})
        lines.append(f"MD: {len(md)} trajectories, engine(s) {', '.join(engines)}"
                     + (f"; from {', '.join(sources[:8])}" if sources else "") + ".")
    versions = sorted({d.superionic_version for d in [*data.studies, *data.predictions, *md,
                                                      *data.conductivity.values(), *data.funnels]})
    if versions:
        lines.append(f"superionic versions that wrote the documents: {', '.join(versions)}.")
    return lines


def _write_figures(sections: list[Section], directory: Path) -> list[Path]:
    prepare_dir(directory)
    written = []
    for section in sections:
        for figure in section.figures():
            path = directory / f"{figure.name}.png"
            write_bytes(path, figure.png)
            written.append(path)
    keep = {p.name for p in written}
    for stale in directory.glob("*.png"):
        if stale.name not in keep:
            try:
                stale.unlink()
            except OSError:
                pass  # an old figure left behind is harmless
    return written


def build_report(
    stores,
    out_dir: str | Path,
    on_section: Callable[[str], None] | None = None,
) -> Path:
    """Write ``out_dir/report.html`` (and ``out_dir/figures/*.png``) from ``stores``.

    ``stores``: a :class:`superionic.stores.ProjectStores`. Returns the HTML path. Raises
    :class:`ReportError` when the directory or a file cannot be written (permissions, full disk).
    """
    out_dir = prepare_dir(Path(out_dir).expanduser())
    data = gather(stores)
    sections = build_sections(data, on_section)
    when = datetime.now(timezone.utc)
    _write_figures(sections, out_dir / FIGURE_DIR)
    document = render_html(
        "superionic report",
        f"Superionic Li solid-electrolyte discovery, following Kang et al., J. Phys. Chem. C 2023. "
        f"Store {redact(data.spec)}, {when:%Y-%m-%d %H:%M} UTC.",
        sections,
        provenance(data, when),
    )
    path = out_dir / REPORT_NAME
    write_atomic(path, document.encode("utf-8"))
    return path
