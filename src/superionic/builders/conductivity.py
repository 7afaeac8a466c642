"""``ConductivityBuilder``: the ``DiffusionDoc`` s of one material and one MD protocol (one per
temperature) -> one ``ConductivityDoc`` (Arrhenius fit, D and sigma at 300 K with intervals
or bounds, verdict).

GroupBuilder-style: sources ``diffusion`` grouped by (material, engine, potential, preset) =
the target key ``conductivity_id`` (:func:`superionic.schemas.md.conductivity_id`, e.g.
``'mp-1:vasp:PBE:seed'``), and ``materials`` (the structure, for the Li number density);
target ``conductivity``. Two protocols of one material are two documents and never share an
Arrhenius fit; which one a summary shows is :func:`superionic.results.best_conductivity`'s
choice. Without a structure in ``materials`` the density of the simulated cells recorded in
the DiffusionDocs is used (:func:`superionic.md.analysis.arrhenius.conductivity_from_diffusion`).

A group is rebuilt (:func:`stale_groups`) when it has no ConductivityDoc, when the set of its
DiffusionDoc ids differs from the target's ``source_doc_ids`` (a temperature added or
removed), when one of its DiffusionDocs is newer than the target, or when its material
document (the structure) is newer, or when it was made under other fit/verdict rules
(``analysis_version``: version, Ea limits, threshold). Other groups are not touched: adding one
temperature's result for one material and protocol rebuilds that group only.

Old documents (from versions that keyed conductivity by ``material_id`` alone and diffusion
by material and temperature) do not stop the builder: DiffusionDocs with old keys are grouped
by the key their fields give (potential ``'unknown'`` where they do not name one; the
DiffusionBuilder re-keys them in the store). A ConductivityDoc without ``conductivity_id`` is
removed when the builder writes a ConductivityDoc of the same material under the new key; one
whose material has no DiffusionDoc left stays as it is (it still reads as a ConductivityDoc,
its key filled from its fields).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from maggma.core import Store

from superionic.builders.base import SuperionicBuilder, as_utc, query_in
from superionic.schemas.md import ConductivityDoc, DiffusionDoc, conductivity_id, diffusion_doc_id

THRESHOLD = 1e-4
"""Conductivity threshold of the verdict (S/cm), the seed's label."""


GROUP_FIELDS = ["doc_id", "material_id", "temperature", "engine", "potential", "preset", "last_updated"]
TARGET_FIELDS = ["conductivity_id", "material_id", "last_updated", "source_doc_ids", "analysis_version"]


class ConductivityBuilder(SuperionicBuilder):
    """Arrhenius conductivity per material and MD protocol from its per-temperature diffusion documents."""

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
        rows = list(self.diffusion.query(criteria=self.query or {}, properties=GROUP_FIELDS))
        groups = group_diffusion(rows)
        materials = {str(d["material_id"]): d for d in self.materials.query(properties=["material_id", "last_updated"])}
        targets = {d["conductivity_id"]: d for d in self.conductivity.query(
            criteria={"conductivity_id": {"$exists": True}}, properties=TARGET_FIELDS)}
        from superionic.md.analysis.arrhenius import conductivity_version

        todo = stale_groups(groups, targets, materials, conductivity_version(self.threshold))
        self.total = len(todo)
        self.logger.info("conductivity: %d of %d material-protocol groups to build", len(todo), len(groups))
        for key in todo:
            material_id = groups[key][0]["material_id"]
            stored_ids = [d["_stored_id"] for d in groups[key]]
            docs = list(query_in(self.diffusion, "doc_id", stored_ids, criteria=self.query))
            structure = None
            if material_id in materials:
                material = self.materials.query_one({"material_id": material_id}, properties=["structure"])
                structure = (material or {}).get("structure")
            yield {"conductivity_id": key, "material_id": material_id, "diffusion": docs, "structure": structure}

    def process_item(self, item: dict) -> dict | None:
        try:
            docs = [DiffusionDoc(**d) for d in item["diffusion"]]
            return conductivity_doc(docs, item["structure"], self.threshold).to_store()
        except Exception as exc:  # noqa: BLE001 - recorded; retried on the next run
            self.record_failure(item["conductivity_id"], f"{type(exc).__name__}: {exc}")
            return None

    def update_targets(self, items: list[dict]) -> None:
        if items:
            self.conductivity.update(items, key="conductivity_id")
            self.n_processed += len(items)
            # documents of earlier versions (keyed by material alone) give way to the new ones
            materials = sorted({d["material_id"] for d in items})
            self.conductivity.remove_docs({"material_id": {"$in": materials},
                                           "conductivity_id": {"$exists": False}})


# --------------------------------------------------------------------------------------------
# Pure functions
# --------------------------------------------------------------------------------------------
def group_diffusion(rows: Iterable[dict]) -> dict[str, list[dict]]:
    """DiffusionDoc rows (``GROUP_FIELDS``) by ``conductivity_id``; each row's ``doc_id`` is
    the key its fields give (old keys read as new ones), the stored one kept in ``_stored_id``.
    Rows without a material or temperature are left out."""
    groups: dict[str, list[dict]] = {}
    for row in rows:
        try:
            parts = {k: row.get(k) for k in ("engine", "potential", "preset")}
            doc_id = diffusion_doc_id(str(row["material_id"]), float(row["temperature"]), **parts)
        except (KeyError, TypeError, ValueError):
            continue
        key = conductivity_id(str(row["material_id"]), **parts)
        groups.setdefault(key, []).append({**row, "doc_id": doc_id, "_stored_id": row.get("doc_id")})
    return groups


def stale_groups(
    groups: dict[str, list[dict]], targets: dict[str, dict], materials: dict[str, dict],
    version: str | None = None,
) -> list[str]:
    """``conductivity_id`` s whose ConductivityDoc must be rebuilt, sorted.

    ``groups``: conductivity_id -> its DiffusionDocs (``material_id``, ``doc_id``, ``last_updated``);
    ``targets``: conductivity_id -> stored ConductivityDoc (``last_updated``, ``source_doc_ids``);
    ``materials``: material_id -> material document (``last_updated``);
    ``version``: the fit and verdict rules now (a target made under others is rebuilt).
    """
    stale = []
    for key, docs in sorted(groups.items()):
        target = targets.get(key)
        if target is None:
            stale.append(key)
            continue
        material_id = str(docs[0]["material_id"])
        built = as_utc(target.get("last_updated"))
        if version is not None and target.get("analysis_version") != version:
            stale.append(key)
        elif {d["doc_id"] for d in docs} != set(target.get("source_doc_ids") or []):
            stale.append(key)
        elif max(as_utc(d.get("last_updated")) for d in docs) > built:
            stale.append(key)
        elif material_id in materials and as_utc(materials[material_id].get("last_updated")) > built:
            stale.append(key)
    return stale


def conductivity_doc(
    docs: Iterable[DiffusionDoc], structure: dict | None = None, threshold: float = THRESHOLD
) -> ConductivityDoc:
    """The ConductivityDoc of one material and one protocol from its DiffusionDocs and
    (optionally) its structure (``Structure.as_dict()``), for the Li number density.

    Raises ValueError when the documents span several protocols (engine, potential, preset):
    one Arrhenius fit never mixes them.
    """
    from superionic.md.analysis.arrhenius import conductivity_from_diffusion

    cell = None
    if structure:
        from pymatgen.core import Structure

        cell = Structure.from_dict(structure)
    return conductivity_from_diffusion(list(docs), cell, threshold=threshold)
