"""Fields every stored superionic document carries."""

from __future__ import annotations

from datetime import datetime, timezone

from pydantic import BaseModel, ConfigDict, Field

from superionic import __version__


def utcnow() -> datetime:
    """Timezone-aware current time (UTC)."""
    return datetime.now(timezone.utc)


class SuperionicDoc(BaseModel):
    """Base of every stored document: provenance and the time it was written."""

    model_config = ConfigDict(extra="forbid")

    superionic_version: str = Field(
        default=__version__, description="Version of superionic that wrote the document."
    )
    last_updated: datetime = Field(
        default_factory=utcnow,
        description="When the document was computed (UTC); builders compare it to decide "
        "what is stale.",
    )

    def to_store(self) -> dict:
        """JSON-compatible dict for a maggma store (datetimes kept as datetimes)."""
        return self.model_dump(mode="python")
