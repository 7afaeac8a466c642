"""Cached featurisation: FeatureDocs in a maggma store, computed only when missing.

A composition is recomputed only if the store has no document for its reduced formula with
the current :data:`~superionic.features.magpie.FEATURIZER_VERSION`. Documents are upserted by
``formula`` (``store.update(docs, key="formula")``), so reruns replace, never duplicate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from superionic.features.composition import ParsedComposition, parse_many
from superionic.features.magpie import (
    FEATURIZER_VERSION,
    MAGPIE_FEATURE_LABELS,
    compute_features,
)
from superionic.schemas.features import FeatureDoc

KEY = "formula"
IN_QUERY_LIMIT = 50


@dataclass
class FeatureStoreStats:
    """What one :func:`featurize_into_store` call did."""

    n_inputs: int = 0
    """Formulas given."""
    n_compositions: int = 0
    """Distinct compositions (reduced formulas) among the valid inputs."""
    n_cached: int = 0
    """Compositions already stored with the current featuriser version."""
    n_computed: int = 0
    """Compositions featurised by this call."""
    n_failed: int = 0
    """Input rows that could not be featurised (see ``failures``)."""
    failures: dict[int, str] = field(default_factory=dict)
    """Input row position -> reason."""
    keys: list[str | None] = field(default_factory=list)
    """Per input row: the ``formula`` key of its FeatureDoc (None where it failed)."""


def featurize_into_store(
    formulas: Sequence[Any],
    store,
    material_ids: Sequence[str | None] | None = None,
) -> FeatureStoreStats:
    """Featurise what the store lacks and upsert it as :class:`FeatureDoc` s.

    Args:
        formulas: formula strings or pymatgen Compositions.
        store: a connected maggma Store (the project's ``features`` store).
        material_ids: optional, parallel to ``formulas``: the material each formula
            belongs to, recorded in the document.
    Returns:
        counts, per-row failures and per-row document keys.
    """
    formulas = list(formulas)
    if material_ids is not None and len(material_ids) != len(formulas):
        raise ValueError(
            f"material_ids has {len(material_ids)} entries for {len(formulas)} formulas"
        )
    stats = FeatureStoreStats(n_inputs=len(formulas), keys=[None] * len(formulas))
    groups: dict[str, dict[str, Any]] = {}
    for i, (formula, parsed) in enumerate(zip(formulas, parse_many(formulas))):
        if isinstance(parsed, str):
            stats.failures[i] = parsed
            continue
        key = parsed.reduced_formula
        stats.keys[i] = key
        group = groups.setdefault(key, {"parsed": parsed, "ids": [], "formulas": []})
        if material_ids is not None and material_ids[i] and material_ids[i] not in group["ids"]:
            group["ids"].append(str(material_ids[i]))
        text = formula if isinstance(formula, str) else str(formula)
        if text not in group["formulas"]:
            group["formulas"].append(text)
    stats.n_failed = len(stats.failures)
    stats.n_compositions = len(groups)

    cached = _current_docs(store, list(groups), properties=[KEY, "material_ids", "input_formulas"])
    stats.n_cached = len(cached)
    to_compute = [k for k in groups if k not in cached]
    stats.n_computed = len(to_compute)

    docs: list[dict] = []
    if to_compute:
        values = compute_features([groups[k]["parsed"] for k in to_compute])
        for key, row in zip(to_compute, values):
            parsed = groups[key]["parsed"]
            docs.append(
                FeatureDoc(
                    formula=key,
                    composition=_reduced_amounts(key, parsed),
                    features=dict(zip(MAGPIE_FEATURE_LABELS, row.tolist())),
                    featurizer_version=FEATURIZER_VERSION,
                    material_ids=groups[key]["ids"],
                    input_formulas=groups[key]["formulas"],
                ).to_store()
            )
    # Cached documents that gained material ids or formula spellings: add them, no recompute.
    stale = [
        k
        for k, doc in cached.items()
        if set(groups[k]["ids"]) - set(doc.get("material_ids") or [])
        or set(groups[k]["formulas"]) - set(doc.get("input_formulas") or [])
    ]
    if stale:
        for doc in _current_docs(store, stale).values():
            doc["material_ids"] = _union(doc.get("material_ids"), groups[doc[KEY]]["ids"])
            doc["input_formulas"] = _union(doc.get("input_formulas"), groups[doc[KEY]]["formulas"])
            docs.append(FeatureDoc(**doc).to_store())
    if docs:
        store.update(docs, key=KEY)
    return stats


def load_features(
    formulas: Sequence[Any], store, material_ids: Sequence[str | None] | None = None
) -> tuple[pd.DataFrame, dict[int, str]]:
    """Like :func:`~superionic.features.magpie.featurize_formulas`, served from the store.

    Computes what is missing (:func:`featurize_into_store`), then returns one row per input
    (NaN rows for failures) and the failure reasons by row position.
    """
    stats = featurize_into_store(formulas, store, material_ids=material_ids)
    wanted = sorted({k for k in stats.keys if k is not None})
    vectors = {key: FeatureDoc(**doc).vector() for key, doc in _current_docs(store, wanted).items()}
    values = np.full((len(stats.keys), len(MAGPIE_FEATURE_LABELS)), np.nan)
    failures = dict(stats.failures)
    for i, key in enumerate(stats.keys):
        if key is None:
            continue
        if key in vectors:
            values[i] = vectors[key]
        else:  # written a moment ago but not readable: say so rather than return NaN silently
            failures[i] = f"features of {key} not found in the store after writing them"
    return pd.DataFrame(values, columns=MAGPIE_FEATURE_LABELS), failures


def _current_docs(store, keys: list[str], properties: list[str] | None = None) -> dict[str, dict]:
    """Stored documents of ``keys`` computed with the current featuriser version.

    A few keys are looked up with ``$in``; many are found by one pass over the current
    version's documents, because montydb and mongomock (no indexes) test ``$in`` against
    every key of the list for every document, which is quadratic.
    """
    wanted = set(keys)
    if not wanted:
        return {}
    criteria: dict[str, Any] = {"featurizer_version": FEATURIZER_VERSION}
    if len(wanted) <= IN_QUERY_LIMIT:
        criteria[KEY] = {"$in": sorted(wanted)}
    found = {}
    for doc in store.query(criteria=criteria, properties=properties):
        if doc.get(KEY) in wanted:
            doc.pop("_id", None)
            found[doc[KEY]] = doc
    return found


def _reduced_amounts(key: str, parsed: ParsedComposition) -> dict[str, float]:
    from pymatgen.core import Composition

    try:
        return {el.symbol: float(a) for el, a in Composition(key).items()}
    except ValueError:  # pragma: no cover - reduced formulas parse back
        from superionic.features.element_data import element_tables

        symbols = element_tables().symbols
        return {symbols[z]: a for z, a in zip(parsed.z, parsed.amounts)}


def _union(old: list[str] | None, new: list[str]) -> list[str]:
    out = list(old or [])
    out.extend(x for x in new if x not in out)
    return out
