"""Composition descriptors: the 145 Magpie features (Ward et al. 2016), equal to matminer's."""

from superionic.features.magpie import (
    FEATURIZER_VERSION,
    MAGPIE_FEATURE_LABELS,
    featurize_composition,
    featurize_formulas,
)

__all__ = [
    "FEATURIZER_VERSION",
    "MAGPIE_FEATURE_LABELS",
    "featurize_composition",
    "featurize_formulas",
]
