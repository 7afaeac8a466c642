"""``StructureEvidenceBuilder``: screening survivors -> one ``StructureEvidenceDoc`` each.

Sources: ``screening`` (which materials: ``query``, default the survivors ``{"passed": True}``)
and ``materials`` (structures inline, else the bundled MP CIF; Sendek descriptors). Target:
any store keyed ``evidence_id`` ('material_id|method_version').

Stale when: no document of this ``METHOD_VERSION``, or its ``structure_hash`` or
``settings_hash`` differ from the structure and settings now. Anything else is left alone, so
a rerun with the same structures and settings computes nothing. The computation runs in
``n_procs`` worker processes (``maxtasksperchild`` keeps a worker's memory from growing); a
material whose structure cannot be read is recorded in ``failures``, not raised.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator

from maggma.core import Store

from superionic.builders.base import SuperionicBuilder, query_in
from superionic.schemas.structure import evidence_key
from superionic.structure.evidence import METHOD_VERSION, EvidenceSettings, settings_hash, structure_hash

KEY = "evidence_id"


def _work(args: tuple) -> dict:
    from pymatgen.core import Structure

    from superionic.structure.evidence import EvidenceSettings, compute_evidence

    material_id, structure, settings, descriptors = args
    doc = compute_evidence(material_id, Structure.from_dict(structure), EvidenceSettings(**settings), descriptors)
    return doc.to_store()


class StructureEvidenceBuilder(SuperionicBuilder):
    """Structural evidence for every selected screening document (see module docstring)."""

    name = "structure"

    def __init__(self, screening: Store, materials: Store, evidence: Store, settings: EvidenceSettings | None = None,
                 query: dict | None = None, n_procs: int = 2, chunk_size: int = 100):
        self.screening = screening
        self.materials = materials
        self.evidence = evidence
        self.settings = settings or EvidenceSettings()
        self.query = {"passed": True} if query is None else query
        self.n_procs = n_procs
        super().__init__(sources=[screening, materials], targets=[evidence], chunk_size=chunk_size)

    def stale_items(self) -> list[tuple]:
        """(material_id, structure dict, settings dict, descriptors) of what must be computed."""
        from superionic.structure.load import structure_of

        self.reset_counts()
        ids = [d["material_id"] for d in self.screening.query(criteria=self.query, properties=["material_id"])]
        stored = {d["material_id"]: d for d in query_in(
            self.evidence, "material_id", ids, {"method_version": METHOD_VERSION},
            ["material_id", "structure_hash", "settings_hash"])}
        mats = {d["material_id"]: d for d in query_in(self.materials, "material_id", ids,
                                                      properties=["material_id", "structure", "descriptors"])}
        wanted_settings = settings_hash(self.settings)
        items = []
        for mid in ids:
            doc = mats.get(mid, {"material_id": mid})
            try:
                structure = structure_of(doc)
            except Exception as exc:  # noqa: BLE001 - recorded
                self.record_failure(mid, f"structure unreadable: {type(exc).__name__}: {exc}")
                continue
            if structure is None:
                self.record_failure(mid, "no structure (inline or bundled)")
                continue
            old = stored.get(mid)
            if old and old.get("structure_hash") == structure_hash(structure) and \
                    old.get("settings_hash") == wanted_settings:
                continue
            items.append((mid, structure.as_dict(), self.settings.model_dump(), doc.get("descriptors") or {}))
        self.total = len(items)
        return items

    def get_items(self) -> Iterator[dict]:
        items = self.stale_items()
        self.logger.info("structure: %d to compute", len(items))
        if not items:
            return
        if self.n_procs <= 1:
            for item in items:
                yield _work(item)
            return
        ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
        with ctx.Pool(self.n_procs, maxtasksperchild=25) as pool:
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
