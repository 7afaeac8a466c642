"""The descriptor sets a classifier can be trained on, by name.

- ``magpie``: the 145 Magpie descriptors (:mod:`superionic.features.magpie`), the seed's.
- ``chemistry``: the 23 compact descriptors of :mod:`superionic.features.chemistry` (Li and
  anion content, anion and framework-cation chemistry); measured against Magpie in the
  README ("Classifier, four protocols").
- ``magpie+chemistry``: both, 168 columns (Magpie's first).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

DESCRIPTOR_SETS = ("magpie", "chemistry", "magpie+chemistry")


def _check(descriptors: str) -> str:
    if descriptors not in DESCRIPTOR_SETS:
        raise ValueError(f"Unknown descriptor set {descriptors!r}; choose from {', '.join(DESCRIPTOR_SETS)}.")
    return descriptors


def feature_labels(descriptors: str = "magpie") -> list[str]:
    """Column names of a descriptor set, in model input order."""
    from superionic.features.chemistry import CHEMISTRY_FEATURE_LABELS
    from superionic.features.magpie import MAGPIE_FEATURE_LABELS

    parts = {"magpie": MAGPIE_FEATURE_LABELS, "chemistry": CHEMISTRY_FEATURE_LABELS}
    return [label for part in _check(descriptors).split("+") for label in parts[part]]


def featurizer_version(descriptors: str = "magpie") -> str:
    """Version string of the code that computes a descriptor set (saved with every model)."""
    from superionic.features.chemistry import CHEMISTRY_VERSION
    from superionic.features.magpie import FEATURIZER_VERSION

    parts = {"magpie": FEATURIZER_VERSION, "chemistry": CHEMISTRY_VERSION}
    return "+".join(parts[part] for part in _check(descriptors).split("+"))


def featurize(formulas: Sequence[Any], descriptors: str = "magpie",
              magpie: tuple[pd.DataFrame, dict[int, str]] | None = None) -> tuple[pd.DataFrame, dict[int, str]]:
    """One row per formula (NaN where it fails) and {row: reason} of the failures.

    ``magpie``: the Magpie part already computed for these formulas (one row per formula, and
    its failures, e.g. :func:`superionic.features.store.load_features`), used instead of
    computing it again."""
    from superionic.features.chemistry import featurize_chemistry
    from superionic.features.magpie import featurize_formulas

    formulas = list(formulas)
    if magpie is not None and len(magpie[0]) != len(formulas):
        raise ValueError(f"the Magpie part has {len(magpie[0])} rows for {len(formulas)} formulas")
    compute = {"magpie": (lambda f: magpie) if magpie is not None else featurize_formulas,
               "chemistry": featurize_chemistry}
    parts = [compute[part](formulas) for part in _check(descriptors).split("+")]
    failures = {row: reason for _, part_failures in reversed(parts) for row, reason in part_failures.items()}
    return pd.concat([frame for frame, _ in parts], axis=1), failures
