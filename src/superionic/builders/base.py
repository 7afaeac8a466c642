"""What every superionic builder shares: counting, store ownership, timestamps.

A builder here is a thin maggma ``Builder`` (``get_items`` / ``process_item`` /
``update_targets``) around a pure function of pydantic documents; the function lives at the
bottom of each builder's module and is testable without any store.

Store ownership: maggma's ``Builder.finalize`` closes every source and target. That is right
for a builder loaded by ``mrun`` (it opened the stores itself) and wrong for one handed the
project's open stores: a closed ``MemoryStore`` (mongomock) refuses every later call, and
reconnecting it with ``force_reset`` starts a new, empty client. So a builder closes only
the stores that it connected itself; stores that were already connected stay open for the
caller (the discovery flow's summary job goes on using them).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from typing import Any

from maggma.core import Builder, Store

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def as_utc(value: Any) -> datetime:
    """A stored timestamp as an aware UTC datetime at millisecond precision.

    MongoDB/montydb keep naive UTC datetimes at millisecond precision, memory stores keep
    what they were given, jobflow writes ISO strings: compare them all the same way.
    Missing or unreadable values count as the epoch (older than anything).
    """
    if value is None:
        return EPOCH
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return EPOCH
    if not isinstance(value, datetime):
        return EPOCH
    value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


IN_CHUNK = 50
"""Values per ``$in`` query: montydb and mongomock test ``$in`` by scanning the list for every
document, so long lists are quadratic."""


def query_in(store: Store, field: str, values: Iterable[Any], criteria: dict | None = None,
             properties: list[str] | None = None) -> Iterator[dict]:
    """Documents whose ``field`` is one of ``values`` (in chunks), without ``_id``."""
    values = list(values)
    for start in range(0, len(values), IN_CHUNK):
        query = {**(criteria or {}), field: {"$in": values[start : start + IN_CHUNK]}}
        for doc in store.query(criteria=query, properties=properties):
            doc.pop("_id", None)
            yield doc


def is_connected(store: Store) -> bool:
    """Whether a maggma Mongo-like store already holds a collection handle."""
    return getattr(store, "_coll", None) is not None


class SuperionicBuilder(Builder):
    """Base of the project's builders: processed counts, skips, and polite closing."""

    name: str = "builder"
    """Registry name (``superionic build NAME``)."""

    def __init__(self, sources: list[Store], targets: list[Store], chunk_size: int = 1000):
        super().__init__(sources=sources, targets=targets, chunk_size=chunk_size)
        self.logger = logging.getLogger(f"superionic.builders.{self.name}")
        self._opened: list[Store] = []
        self.reset_counts()

    def reset_counts(self) -> None:
        """Forget what a previous run did (called at the start of ``get_items``)."""
        self.n_processed = 0
        """Target documents written by this run."""
        self.skip_reason: str | None = None
        """Why the builder did nothing at all (e.g. no trained model), if it skipped."""
        self.failures: dict[str, str] = {}
        """Key -> reason for inputs that could not be built (recorded, not raised)."""

    def skip(self, reason: str) -> None:
        """Record that the whole builder is skipped, and say why."""
        self.skip_reason = reason
        self.logger.warning("%s builder skipped: %s", self.name, reason)

    def record_failure(self, key: str, reason: str) -> None:
        self.failures[key] = reason
        self.logger.warning("%s: %s", key, reason)

    def connect(self) -> None:
        """Connect the stores that are not connected yet, and remember them."""
        self._opened = []
        for store in self.sources + self.targets:
            if not is_connected(store):
                store.connect()
                self._opened.append(store)

    def finalize(self) -> None:
        """Close only the stores this builder connected (see the module docstring)."""
        for store in self._opened:
            try:
                store.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
        self._opened = []
