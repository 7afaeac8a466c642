"""Phase-diagram entries from the live Materials Project, one database version, cached.

``MPEntrySource`` is an entry source for
``superionic.screening.window_lookup.find_stability_window``: it has
``get_entries_in_chemsys(elements)`` and returns every MP entry of that chemical system
and its subsystems as ``ComputedStructureEntry`` objects, as MP serves them:

* thermo type ``GGA_GGA+U`` (default): GGA/GGA+U energies with the MP2020 corrections
  already applied by MP (``energy_adjustments``), the scheme of the seed's windows and of
  the bundled entry sets; or ``R2SCAN`` (no corrections). The mixed GGA/GGA+U/r2SCAN hull
  is served by MP from S3 tables, not through the REST API, and is not offered here.
* one database version: the version the API reports when the source connects is stamped
  into every ``entry.data["database_version"]`` and keys the cache, so entries of two MP
  releases never meet in one diagram; each answer is checked with
  ``check_entry_consistency``.

Cache: in memory per chemical system (a subsystem is cut out of a cached supersystem),
and on disk under ``<data_dir>/cache/mp_entries/<db version>/<thermo type>/<chemsys>.json.gz``.
The connection is made on the first request; if it fails, every later request fails at
once with the same ``SourceError`` (a screening of 500 candidates must not wait 500 times).
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path

from monty.json import MontyEncoder
from pymatgen.core import Element
from pymatgen.entries.computed_entries import ComputedStructureEntry

from superionic.screening.entry_consistency import check_entry_consistency
from superionic.sources.base import SourceError
from superionic.sources.mp_client import MPClient, MPClientOptions

THERMO_TYPES = ("GGA_GGA+U", "R2SCAN")
MAX_ELEMENTS = 9  # mp-api refuses larger systems (URL length)


def default_cache_dir() -> Path:
    from superionic.settings import get_settings

    return Path(get_settings().data_dir).expanduser() / "cache" / "mp_entries"


def _symbols(elements: str | Iterable) -> list[str]:
    if isinstance(elements, str):
        parts = [p for p in re.split(r"[-,\s]+", elements) if p]
    else:
        parts = [str(getattr(e, "symbol", e)) for e in elements]
    for symbol in parts:
        try:
            Element(symbol)
        except ValueError as exc:
            raise ValueError(f"unknown element {symbol!r} in {elements!r}") from exc
    if not parts:
        raise ValueError("no elements given")
    return sorted(set(parts))


def _entry_elements(entry: ComputedStructureEntry) -> frozenset[str]:
    return frozenset(el.symbol for el in entry.composition.elements)


def _plain(value):
    """mp-api's typed values (Element keys, MPID ids) -> plain JSON-able Python."""
    if isinstance(value, dict):
        return {str(getattr(k, "symbol", k)): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


class MPEntrySource:
    """Entries of a chemical system from the live MP (see module docstring)."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        thermo_type: str = "GGA_GGA+U",
        cache_dir: Path | str | None = None,
        disk_cache: bool = True,
        options: MPClientOptions | None = None,
        client: MPClient | None = None,
    ):
        if thermo_type not in THERMO_TYPES:
            raise ValueError(
                f"thermo_type {thermo_type!r} is not served here; choose one of {THERMO_TYPES}"
            )
        self.api_key = api_key
        self.thermo_type = thermo_type
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir else None
        self.disk_cache = disk_cache
        self.options = options or MPClientOptions()
        self._client = client
        self._failure: SourceError | None = None
        self._memory: dict[frozenset[str], list[ComputedStructureEntry]] = {}

    # -- connection -------------------------------------------------------------------
    @property
    def client(self) -> MPClient:
        """The MP connection, made on first use; a failed attempt is remembered."""
        if self._client is None:
            if self._failure is not None:
                raise self._failure
            try:
                self._client = MPClient.connect(self.api_key, self.options)
            except SourceError as exc:
                self._failure = exc
                raise
        return self._client

    @property
    def database_version(self) -> str | None:
        """The MP database version of every entry served (known once connected)."""
        return self._client.database_version if self._client else None

    @property
    def name(self) -> str:
        """Energy-set label: 'mp-api <database version> <thermo type>' (version once connected)."""
        return " ".join(x for x in ("mp-api", self.database_version, self.thermo_type) if x)

    def __repr__(self) -> str:
        version = self.database_version or "not connected"
        return f"MPEntrySource({self.thermo_type}, MP {version})"

    # -- entries ----------------------------------------------------------------------
    def get_entries_in_chemsys(
        self, elements: str | Iterable[str]
    ) -> list[ComputedStructureEntry]:
        """Every entry of the system of ``elements`` and its subsystems (``[]`` if none)."""
        wanted = frozenset(_symbols(elements))
        if len(wanted) > MAX_ELEMENTS:
            raise ValueError(f"{len(wanted)} elements: MP serves systems of up to {MAX_ELEMENTS}")
        for covered, entries in self._memory.items():
            if wanted <= covered:
                return [e for e in entries if _entry_elements(e) <= wanted]
        client = self.client
        entries = self._read_disk(wanted, client.database_version)
        if entries is None:
            entries = self._fetch(wanted, client)
            self._write_disk(wanted, client.database_version, entries)
        self._memory[wanted] = entries
        return list(entries)

    def _fetch(self, wanted: frozenset[str], client: MPClient) -> list[ComputedStructureEntry]:
        chemsys = "-".join(sorted(wanted))
        raw = client.call(
            f"Reading MP entries of {chemsys}",
            lambda: client.rester.get_entries_in_chemsys(
                sorted(wanted), additional_criteria={"thermo_types": [self.thermo_type]}
            ),
        )
        entries = [self._normalise(e, client.database_version) for e in raw]
        entries.sort(key=lambda e: (e.composition.reduced_formula, str(e.entry_id)))
        problems, _ = check_entry_consistency(entries)
        if problems:
            raise SourceError(f"MP entries of {chemsys} are inconsistent: {'; '.join(problems)}")
        return entries

    def _normalise(self, entry, db_version: str | None) -> ComputedStructureEntry:
        """Plain-string ids (mp-api gives EntryID/MPID objects) and the version stamp."""
        entry.entry_id = str(entry.entry_id) if entry.entry_id is not None else None
        data = _plain(dict(entry.data or {}))
        data["database_version"] = db_version
        data["thermo_type"] = self.thermo_type
        entry.data = data
        return entry

    # -- disk cache -------------------------------------------------------------------
    def _cache_path(self, wanted: frozenset[str], db_version: str | None) -> Path | None:
        if not self.disk_cache or not db_version:
            return None
        root = self.cache_dir or default_cache_dir()
        name = f"{'-'.join(sorted(wanted))}.json.gz"
        return root / _safe(db_version) / _safe(self.thermo_type) / name

    def _read_disk(self, wanted, db_version) -> list[ComputedStructureEntry] | None:
        path = self._cache_path(wanted, db_version)
        if path is None or not path.is_file():
            return None
        try:
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                return [ComputedStructureEntry.from_dict(d) for d in json.load(handle)]
        except Exception:  # a corrupt cache file is refetched, not fatal
            return None

    def _write_disk(self, wanted, db_version, entries) -> None:
        path = self._cache_path(wanted, db_version)
        if path is None:
            return
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with gzip.open(tmp, "wt", encoding="utf-8") as handle:
                json.dump([e.as_dict() for e in entries], handle, cls=MontyEncoder)
            tmp.replace(path)
        except (OSError, TypeError, ValueError):  # e.g. a read-only data dir: no cache
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)


__all__ = ["THERMO_TYPES", "MPEntrySource", "default_cache_dir"]
