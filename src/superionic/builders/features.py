"""``FeatureBuilder``: materials -> one ``FeatureDoc`` per composition (Magpie descriptors).

Sources ``materials`` (key ``material_id``), target ``features`` (key ``formula``, the reduced
formula). Materials with the same composition share one document, as
:func:`superionic.features.store.featurize_into_store` does, so the two keep one cache.

What makes a ``FeatureDoc`` stale: it is missing; it was computed with another
``FEATURIZER_VERSION``; or the materials it was built for changed (a material with this
composition that the document does not list, or a listed material whose formula now reads
otherwise). The features depend on the composition alone, so a material re-written with the
same formula (e.g. a rerun of ``superionic screen`` that re-stamps ``last_updated``) does
not make its features stale, and a document whose only change is its list of materials keeps
its values and its ``last_updated`` (nothing was recomputed; predictions stay valid).
Material ids that the materials store does not know (added by ``featurize_into_store`` for
other inputs) are kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from maggma.core import Store

from superionic.builders.base import SuperionicBuilder
from superionic.schemas.features import FeatureDoc

KEY = "formula"


class FeatureBuilder(SuperionicBuilder):
    """Magpie descriptors for every composition in ``materials`` (see module docstring)."""

    name = "features"

    def __init__(self, materials: Store, features: Store, query: dict | None = None, chunk_size: int = 1000):
        """
        Args:
            materials: the project's ``materials`` store (MaterialDocs).
            features: the project's ``features`` store (FeatureDocs, key ``formula``).
            query: optional filter on ``materials`` (default: every material).
            chunk_size: items written per batch.
        """
        self.materials = materials
        self.features = features
        self.query = query
        super().__init__(sources=[materials], targets=[features], chunk_size=chunk_size)

    def get_items(self) -> Iterator[dict]:
        from superionic.features.magpie import FEATURIZER_VERSION

        self.reset_counts()
        rows = list(self.materials.query(criteria=self.query or {}, properties=["material_id", "formula"]))
        known_ids = {str(r["material_id"]) for r in rows}
        groups, failures = group_materials(rows)
        for material_id, reason in failures.items():
            self.record_failure(material_id, reason)
        stored = {
            d[KEY]: d
            for d in self.features.query(properties=[KEY, "featurizer_version", "material_ids", "input_formulas"])
        }
        keys = stale_feature_keys(groups, stored, known_ids, FEATURIZER_VERSION)
        self.total = len(keys)
        self.logger.info("features: %d of %d compositions to build", len(keys), len(groups))
        for key in keys:
            old = stored.get(key) or {}
            reuse = None
            if old.get("featurizer_version") == FEATURIZER_VERSION:
                reuse = self.features.query_one({KEY: key})  # keep the values, no recompute
                reuse.pop("_id", None)
            yield {
                "group": groups.get(key, MaterialGroup(key)),
                "kept_ids": [i for i in old.get("material_ids") or [] if i not in known_ids],
                "old_formulas": list(old.get("input_formulas") or []),
                "reuse": reuse,
            }

    def process_item(self, item: dict) -> dict | None:
        try:
            reuse = FeatureDoc(**item["reuse"]) if item["reuse"] else None
            doc = feature_doc(item["group"], item["kept_ids"], item["old_formulas"], reuse)
        except Exception as exc:  # noqa: BLE001 - recorded, the other compositions go on
            self.record_failure(item["group"].formula, f"{type(exc).__name__}: {exc}")
            return None
        return doc.to_store()

    def update_targets(self, items: list[dict]) -> None:
        if items:
            self.features.update(items, key=KEY)
            self.n_processed += len(items)


# --------------------------------------------------------------------------------------------
# Pure functions
# --------------------------------------------------------------------------------------------
@dataclass
class MaterialGroup:
    """The materials of one composition (reduced formula)."""

    formula: str
    material_ids: set[str] = field(default_factory=set)
    formulas: set[str] = field(default_factory=set)


def group_materials(materials: Iterable[dict]) -> tuple[dict[str, MaterialGroup], dict[str, str]]:
    """Materials (MaterialDoc dicts: ``material_id``, ``formula``) by reduced formula.

    Returns the groups and, for materials whose formula cannot be featurised, the reason.
    """
    from superionic.features.composition import parse_many

    rows = list(materials)
    groups: dict[str, MaterialGroup] = {}
    failures: dict[str, str] = {}
    for row, parsed in zip(rows, parse_many([str(r.get("formula") or "") for r in rows])):
        if isinstance(parsed, str):
            failures[str(row["material_id"])] = f"formula {row.get('formula')!r} not featurised: {parsed}"
            continue
        group = groups.setdefault(parsed.reduced_formula, MaterialGroup(parsed.reduced_formula))
        group.material_ids.add(str(row["material_id"]))
        group.formulas.add(str(row["formula"]))
    return groups, failures


def feature_docs(materials: Iterable[dict]) -> Iterator[FeatureDoc]:
    """The FeatureDocs of a set of materials, computed from scratch (no store)."""
    groups, _ = group_materials(materials)
    for key in sorted(groups):
        yield feature_doc(groups[key])


def stale_feature_keys(
    groups: dict[str, MaterialGroup], stored: dict[str, dict], known_ids: set[str], version: str
) -> list[str]:
    """Reduced formulas whose FeatureDoc must be (re)built, sorted.

    ``stored``: formula -> stored document (at least ``featurizer_version``, ``material_ids``,
    ``input_formulas``); ``known_ids``: the ids of every material considered (the builder's
    query), unparseable formulas included: a document listing one of them under another
    composition is stale.
    """
    stale = set()
    for key, group in groups.items():
        doc = stored.get(key)
        if doc is None or doc.get("featurizer_version") != version:
            stale.add(key)
            continue
        ids = set(doc.get("material_ids") or [])
        if not group.material_ids <= ids or not group.formulas <= set(doc.get("input_formulas") or []):
            stale.add(key)
        elif (ids & known_ids) - group.material_ids:  # a listed material now has another formula
            stale.add(key)
    for key, doc in stored.items():
        if key not in groups and set(doc.get("material_ids") or []) & known_ids:
            stale.add(key)  # every listed material moved to another composition
    return sorted(stale)


def feature_doc(
    group: MaterialGroup,
    kept_ids: Iterable[str] = (),
    old_formulas: Iterable[str] = (),
    reuse: FeatureDoc | None = None,
) -> FeatureDoc:
    """The FeatureDoc of one composition for its current materials.

    ``kept_ids``: ids of the stored document that the builder did not consider (kept);
    ``old_formulas``: its formula spellings (kept). ``reuse``: the stored document when it
    has the current featuriser version (values and ``last_updated`` kept, only the lists
    change); otherwise the features are computed.
    """
    from pymatgen.core import Composition

    ids = sorted(group.material_ids) + [i for i in kept_ids if i not in group.material_ids]
    formulas = list(old_formulas)
    formulas += sorted(f for f in group.formulas if f not in formulas)
    if reuse is not None:
        return reuse.model_copy(update={"material_ids": ids, "input_formulas": formulas})
    from superionic.features.composition import parse_many
    from superionic.features.magpie import FEATURIZER_VERSION, MAGPIE_FEATURE_LABELS, compute_features

    source = sorted(group.formulas)[0] if group.formulas else group.formula
    parsed = parse_many([source])[0]
    if isinstance(parsed, str):
        raise ValueError(f"{source!r} cannot be featurised: {parsed}")
    values = compute_features([parsed])[0]
    return FeatureDoc(
        formula=group.formula,
        composition={el.symbol: float(a) for el, a in Composition(group.formula).items()},
        features=dict(zip(MAGPIE_FEATURE_LABELS, values.tolist())),
        featurizer_version=FEATURIZER_VERSION,
        material_ids=ids,
        input_formulas=formulas,
    )
