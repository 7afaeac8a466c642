"""Corpus sources: the live Materials Project, the bundled snapshot, a user's files."""

from __future__ import annotations

from superionic.sources.base import SourceError, SourceResult

SOURCES = ("snapshot", "mp", "files")


def load_source(name: str, path: str | None = None, **kwargs) -> SourceResult:
    """Read a corpus: ``snapshot`` (offline default; ``corpus="full"`` for all 21,755 MP Li
    materials), ``mp`` (needs MP_API_KEY), ``files PATH``."""
    if name == "snapshot":
        corpus = kwargs.pop("corpus", "snapshot") or "snapshot"
        if corpus == "full":
            from superionic.sources.corpus import load_full_corpus

            return load_full_corpus(**kwargs)
        if corpus != "snapshot":
            raise SourceError(f"Unknown corpus {corpus!r}: choose snapshot (560) or full (21,755).")
        from superionic.sources.snapshot import load_snapshot

        return load_snapshot(**kwargs)
    if name == "files":
        if not path:
            raise SourceError("--source files needs a folder or file: --source files PATH.")
        from superionic.sources.files import load_files

        return load_files(path)
    if name == "mp":
        from superionic.sources.mp import fetch_mp_corpus

        return fetch_mp_corpus(**kwargs)
    raise SourceError(f"Unknown source {name!r}: choose one of {', '.join(SOURCES)}.")


__all__ = ["SOURCES", "SourceError", "SourceResult", "load_source"]
