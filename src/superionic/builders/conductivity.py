"""``ConductivityBuilder``: the ``DiffusionDoc`` s of a material (one per temperature) ->
one ``ConductivityDoc`` (Arrhenius fit, D and sigma at 300 K with intervals or bounds, verdict).

GroupBuilder-style: sources ``diffusion`` (grouped by ``material_id``) and ``materials``
(the structure, for the Li number density); target ``conductivity`` (key ``material_id``).
Without a structure in ``materials`` the density of the simulated cells recorded in the
DiffusionDocs is used (:func:`superionic.md.arrhenius.conductivity_from_diffusion`).

A material is rebuilt (:func:`stale_materials`) when it has no ConductivityDoc, when the set
of its DiffusionDoc ids differs from the target's ``source_doc_ids`` (a temperature added or
removed), when one of its DiffusionDocs is newer than the target, or when its material
document (the structure) is newer, or when it was made under other fit/verdict rules
(``analysis_version``: version, Ea limits, threshold). Other materials are not touched: adding one
temperature's result for one material rebuilds that material only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from maggma.core import Store

from superionic.builders.base import SuperionicBuilder, as_utc
from superionic.schemas.md import ConductivityDoc, DiffusionDoc

THRESHOLD = 1e-4
"""Conductivity threshold of the verdict (S/cm), the seed's label."""


class ConductivityBuilder(SuperionicBuilder):
    """Arrhenius conductivity per material from its per-temperature diffusion documents."""

    name = "conductivity"

    def __init__(
        self,
        diffusion: Store,
        materials: Store,
        conductivity: Store,
        threshold: float = THRESHOLD,
        query: dict | None = None,
        chunk_size: int = 100,
    ):
        """
        Args:
            diffusion: the project's ``diffusion`` store (DiffusionDocs).
            materials: the project's ``materials`` store (structures for the Li density).
            conductivity: the project's ``conductivity`` store.
            threshold: sigma(300 K) threshold of the verdict (S/cm).
            query: optional filter on ``diffusion`` (e.g. ``{"preset": "seed"}``).
            chunk_size: documents written per batch.
        """
        self.diffusion = diffusion
        self.materials = materials
        self.conductivity = conductivity
        self.threshold = threshold
        self.query = query
        super().__init__(sources=[diffusion, materials], targets=[conductivity], chunk_size=chunk_size)

    def get_items(self) -> Iterator[dict]:
        self.reset_counts()
        rows = list(self.diffusion.query(criteria=self.query or {}, properties=["doc_id", "material_id", "last_updated"]))
        groups: dict[str, list[dict]] = {}
        for row in rows:
            groups.setdefault(str(row["material_id"]), []).append(row)
        materials = {str(d["material_id"]): d for d in self.materials.query(properties=["material_id", "last_updated"])}
        targets = {d["material_id"]: d for d in self.conductivity.query(
            properties=["material_id", "last_updated", "source_doc_ids", "analysis_version"])}
        from superionic.md.arrhenius import conductivity_version

        todo = stale_materials(groups, targets, materials, conductivity_version(self.threshold))
        self.total = len(todo)
        self.logger.info("conductivity: %d of %d materials to build", len(todo), len(groups))
        for material_id in todo:
            docs = list(self.diffusion.query(criteria={**(self.query or {}), "material_id": material_id}))
            for doc in docs:
                doc.pop("_id", None)
            structure = None
            if material_id in materials:
                material = self.materials.query_one({"material_id": material_id}, properties=["structure"])
                structure = (material or {}).get("structure")
            yield {"material_id": material_id, "diffusion": docs, "structure": structure}

    def process_item(self, item: dict) -> dict | None:
        try:
            docs = [DiffusionDoc(**d) for d in item["diffusion"]]
            return conductivity_doc(docs, item["structure"], self.threshold).to_store()
        except Exception as exc:  # noqa: BLE001 - recorded; retried on the next run
            self.record_failure(item["material_id"], f"{type(exc).__name__}: {exc}")
            return None

    def update_targets(self, items: list[dict]) -> None:
        if items:
            self.conductivity.update(items, key="material_id")
            self.n_processed += len(items)


# --------------------------------------------------------------------------------------------
# Pure functions
# --------------------------------------------------------------------------------------------
def stale_materials(
    groups: dict[str, list[dict]], targets: dict[str, dict], materials: dict[str, dict],
    version: str | None = None,
) -> list[str]:
    """Material ids whose ConductivityDoc must be rebuilt, sorted.

    ``groups``: material_id -> its DiffusionDocs (``doc_id``, ``last_updated``);
    ``targets``: material_id -> stored ConductivityDoc (``last_updated``, ``source_doc_ids``);
    ``materials``: material_id -> material document (``last_updated``);
    ``version``: the fit and verdict rules now (a target made under others is rebuilt).
    """
    stale = []
    for material_id, docs in sorted(groups.items()):
        target = targets.get(material_id)
        if target is None:
            stale.append(material_id)
            continue
        built = as_utc(target.get("last_updated"))
        if version is not None and target.get("analysis_version") != version:
            stale.append(material_id)
        elif {d["doc_id"] for d in docs} != set(target.get("source_doc_ids") or []):
            stale.append(material_id)
        elif max(as_utc(d.get("last_updated")) for d in docs) > built:
            stale.append(material_id)
        elif material_id in materials and as_utc(materials[material_id].get("last_updated")) > built:
            stale.append(material_id)
    return stale


def conductivity_doc(
    docs: Iterable[DiffusionDoc], structure: dict | None = None, threshold: float = THRESHOLD
) -> ConductivityDoc:
    """The ConductivityDoc of one material from its DiffusionDocs and (optionally) its
    structure (``Structure.as_dict()``), for the Li number density.

    DiffusionDocs are keyed by material and temperature only, so temperatures may come from
    runs of different engines or presets; the document then carries a ``mixed_protocols``
    flag naming them.
    """
    from superionic.md.arrhenius import conductivity_from_diffusion

    docs = list(docs)
    cell = None
    if structure:
        from pymatgen.core import Structure

        cell = Structure.from_dict(structure)
    doc = conductivity_from_diffusion(docs, cell, threshold=threshold)
    protocols = sorted({f"{d.engine}/{d.preset}" for d in docs})
    if len(protocols) > 1:
        per_t = ", ".join(f"{d.temperature:g} K: {d.engine}/{d.preset}" for d in sorted(docs, key=lambda d: d.temperature))
        doc.flags.append(f"mixed_protocols: temperatures come from different MD engines/presets ({per_t})")
    return doc
