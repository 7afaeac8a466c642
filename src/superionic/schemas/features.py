"""The stored Magpie descriptors of one composition."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pydantic import Field, field_validator

from superionic.schemas.base import SuperionicDoc


class FeatureDoc(SuperionicDoc):
    """The 145 Magpie descriptors of one composition, keyed by its reduced formula.

    Features depend on the composition only (atomic fractions), so one document serves every
    material and every formula string with that composition. A rerun with the same
    ``featurizer_version`` is served from the store; a new version recomputes.
    """

    formula: str = Field(
        description="Key: pymatgen reduced formula of the composition (e.g. 'Li7La3Zr2O12', "
        "'Li0.303La0.557Ti1O3'); every formula string with this composition shares the document."
    )
    composition: dict[str, float] = Field(
        description="Element -> amount of the composition that was featurised (reduced "
        "formula amounts)."
    )
    features: dict[str, float] = Field(
        description="Descriptor name (matminer's label, e.g. 'MagpieData mean Number', "
        "'2-norm', 'compound possible') -> value. 'compound possible' is 1.0/0.0."
    )
    featurizer_version: str = Field(
        description="superionic.features.FEATURIZER_VERSION that computed the values "
        "(algorithm, matminer and pymatgen versions)."
    )
    material_ids: list[str] = Field(
        default_factory=list,
        description="Materials (e.g. Materials Project ids) with this composition that asked "
        "for these features; empty for free-standing formulas.",
    )
    input_formulas: list[str] = Field(
        default_factory=list,
        description="Formula strings (as given) that were resolved to this composition.",
    )

    @field_validator("features")
    @classmethod
    def _finite(cls, value: dict[str, float]) -> dict[str, float]:
        bad = [k for k, v in value.items() if not math.isfinite(v)]
        if bad:
            raise ValueError(f"non-finite feature values: {', '.join(bad[:5])}")
        return value

    def vector(self, labels: Sequence[str] | None = None) -> np.ndarray:
        """The features as an array in ``labels`` order (default: the 145 Magpie labels)."""
        if labels is None:
            from superionic.features.magpie import MAGPIE_FEATURE_LABELS

            labels = MAGPIE_FEATURE_LABELS
        missing = [label for label in labels if label not in self.features]
        if missing:
            raise KeyError(f"{self.formula}: no stored value for {', '.join(missing[:5])}")
        return np.array([self.features[label] for label in labels], dtype=float)
