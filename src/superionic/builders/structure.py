"""``StructureEvidenceBuilder``: screening survivors -> one ``StructureEvidenceDoc`` each.

Sources: ``screening`` (which materials: ``query``, default the survivors ``{"passed": True}``)
and ``materials`` (structures inline, else the bundled MP CIF; Sendek descriptors). Target:
the ``evidence`` collection, keyed ``evidence_id`` ('material_id|method_version'); this
builder is its only writer.

Stale when: no document of this ``METHOD_VERSION``, its ``structure_hash`` differs from the
structure now, or ``settings`` were given and its ``settings_hash`` differs from them (without
``settings``, new documents get the defaults and stored ones keep theirs, so ``superionic
build`` does not undo a recipe's choice). Anything else is left alone: a rerun computes
nothing. The computation runs in ``n_procs`` worker processes (``maxtasksperchild`` keeps a
worker's memory from growing; each worker's data segment is capped by
``settings.worker_max_memory_gb``). Every selected material gets a document: one whose
structure is missing or unreadable, or whose computation raised, gets one naming the reason
(``failures``), so nothing here fails the build.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator

from maggma.core import Store

from superionic.builders.base import SuperionicBuilder, query_in
from superionic.schemas.structure import EvidenceSettings, evidence_key
from superionic.structure.evidence import METHOD_VERSION, settings_hash, structure_hash

KEY = "evidence_id"


def _work(args: tuple) -> dict:
    """One material's evidence document (as stored); a reason document if anything raises."""
    from pymatgen.core import Structure

    from superionic.structure.evidence import compute_evidence, unreadable_evidence

    material_id, structure, settings, descriptors, formula = args
    settings = EvidenceSettings(**settings)
    if isinstance(structure, str):  # the reason it has none
        return unreadable_evidence(material_id, structure, settings, formula).to_store()
    try:
        return compute_evidence(material_id, Structure.from_dict(structure), settings, descriptors).to_store()
    except Exception as exc:  # noqa: BLE001 - a document with the reason, never a failed build
        reason = f"{type(exc).__name__}: {str(exc)[:200]}"
        return unreadable_evidence(material_id, reason, settings, formula).to_store()


def _cap_worker_memory(gigabytes: float) -> None:
    from superionic.structure.limits import cap_memory

    cap_memory(int(gigabytes * 1e9))


class StructureEvidenceBuilder(SuperionicBuilder):
    """Structural evidence for every selected screening document (see module docstring)."""

    name = "structure"

    def __init__(self, screening: Store, materials: Store, evidence: Store, settings: EvidenceSettings | dict | None = None,
                 query: dict | None = None, n_procs: int = 2, chunk_size: int = 20, show_progress: bool = False):
        self.screening = screening
        self.materials = materials
        self.evidence = evidence
        self.settings = EvidenceSettings.model_validate(settings) if isinstance(settings, dict) else settings
        self.query = {"passed": True} if query is None else query
        self.n_procs = n_procs
        self.show_progress = show_progress
        super().__init__(sources=[screening, materials], targets=[evidence], chunk_size=chunk_size)

    @property
    def wanted(self) -> EvidenceSettings:
        """The settings of documents computed now."""
        return self.settings or EvidenceSettings()

    def stale_items(self) -> list[tuple]:
        """(material_id, structure dict or the reason it has none, settings dict, descriptors, formula) to compute."""
        from superionic.structure.load import structure_of

        self.reset_counts()
        ids = [d["material_id"] for d in self.screening.query(criteria=self.query, properties=["material_id"])]
        stored = {d["material_id"]: d for d in query_in(
            self.evidence, "material_id", ids, {"method_version": METHOD_VERSION},
            ["material_id", "structure_hash", "settings_hash"])}
        mats = {d["material_id"]: d for d in query_in(self.materials, "material_id", ids,
                                                      properties=["material_id", "formula", "structure", "descriptors"])}
        wanted = self.wanted.model_dump()
        wanted_hash = settings_hash(self.wanted) if self.settings is not None else None
        items = []
        for mid in ids:
            doc = mats.get(mid, {"material_id": mid})
            try:
                structure = structure_of(doc)
                reason = None if structure is not None else "no structure (inline or bundled)"
            except Exception as exc:  # noqa: BLE001 - the document says why
                structure, reason = None, f"structure unreadable: {type(exc).__name__}: {str(exc)[:200]}"
            old = stored.get(mid)
            if old and old.get("structure_hash") == structure_hash(structure) and \
                    wanted_hash in (None, old.get("settings_hash")):
                continue
            items.append((mid, reason or structure.as_dict(), wanted, doc.get("descriptors") or {}, doc.get("formula")))
        self.total = len(items)
        return items

    def get_items(self) -> Iterator[dict]:
        from superionic.progress import progress_bar

        if not self.wanted.enabled:
            self.reset_counts()
            self.skip("switched off (structure.enabled: false)")
            return
        items = self.stale_items()
        self.logger.info("structure: %d to compute", len(items))
        if not items:
            return
        with progress_bar("structure evidence", len(items), enabled=self.show_progress) as advance:
            for doc in self._computed(items):
                advance()
                yield doc

    def _computed(self, items: list[tuple]) -> Iterator[dict]:
        if self.n_procs <= 1 or len(items) == 1:
            yield from map(_work, items)
            return
        ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
        with ctx.Pool(self.n_procs, initializer=_cap_worker_memory, initargs=(self.wanted.worker_max_memory_gb,),
                      maxtasksperchild=25) as pool:
            yield from pool.imap_unordered(_work, items, chunksize=1)

    def process_item(self, item: dict) -> dict:
        return item

    def update_targets(self, items: list[dict]) -> None:
        docs = [d for d in items if d]
        if docs:
            self.evidence.update(docs, key=KEY)
            self.n_processed += len(docs)


def evidence_by_material(evidence: Store, material_ids=None) -> dict[str, dict]:
    """The stored evidence of this METHOD_VERSION, by material_id."""
    criteria = {"method_version": METHOD_VERSION}
    if material_ids is None:
        docs = evidence.query(criteria=criteria)
    else:
        docs = query_in(evidence, "material_id", list(material_ids), criteria)
    return {d["material_id"]: d for d in docs}


__all__ = ["KEY", "StructureEvidenceBuilder", "evidence_by_material", "evidence_key"]
