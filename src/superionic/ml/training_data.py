"""Training data: experimental room-temperature ionic conductivities, labelled.

Default: the seed authors' 328 compounds (Kang, Kim, Min, J. Phys. Chem. C 127, 19335
(2023)); optional: the OBELiX training split and the two Xu 2020 NASICON tables, or any CSV
with ``formula`` and ``sigma_rt_S_per_cm`` columns. All bundled files are described in
``superionic/data/training/PROVENANCE.md``.

Rules, applied the same way to every source:

- **Label**: superionic (1) when sigma_RT >= ``threshold`` (1e-4 S/cm). A value given as an
  upper bound ('<1E-10') is negative when the bound is at or below the threshold; a lower
  bound ('>1E-3') is positive when it is at or above it; a bound on the wrong side of the
  threshold says nothing and the row is skipped.
- **Skips are recorded, never silent**: missing or unreadable conductivity, non-positive
  conductivity, empty or unparseable formula, undetermined bound. ``TrainingSet.skipped``
  lists each with its row (``source:file:line``) and reason.
- **Duplicates** (same composition after normalising to atomic fractions, within 1e-6, across
  all requested sources) are merged into one row: sigma is the geometric mean of the measured
  values (bounds are used only when a composition has no measured value: then the tightest
  bound, and the label follows from it); family, formula and reference come from the first
  row in source order; every merge is listed in ``TrainingSet.merged`` with its rows, values
  and whether the individual labels disagreed.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from superionic.ml.training_sources import (
    KNOWN_SOURCES,
    READERS,
    UNASSIGNED_FAMILY,
    SkippedRow,
    bundled_path,
    clean_xu_formula,
    normalise_family,
    read_csv,
    resolve_source,
)

__all__ = [
    "KNOWN_SOURCES",
    "SUPERIONIC_THRESHOLD_S_PER_CM",
    "MergedGroup",
    "SkippedRow",
    "TrainingSet",
    "bundled_path",
    "clean_xu_formula",
    "composition_key",
    "load_training_set",
    "normalise_family",
    "parse_conductivity",
]

SUPERIONIC_THRESHOLD_S_PER_CM = 1e-4
"""sigma_RT at or above which a compound counts as superionic (the seed's label)."""

FRAME_COLUMNS = [
    "formula",
    "family",
    "sigma",
    "sigma_bound",
    "label",
    "source",
    "chemsys",
    "composition_key",
    "n_merged",
    "rows",
    "reference",
]


@dataclass
class MergedGroup:
    """Rows with the same composition merged into one training row."""

    composition_key: str
    formula: str
    rows: list[str]
    sigmas: list[float]
    bounds: list[str]
    merged_sigma: float
    label: int
    families: list[str]
    label_conflict: bool
    """True when the rows' own labels disagree (the merged label then follows the rule)."""


@dataclass
class TrainingSet:
    """A labelled training set with its skip and merge report."""

    frame: pd.DataFrame
    """One row per composition: formula, family, sigma (S/cm), sigma_bound ('', '<', '>'),
    label (1 superionic, 0 not), source, chemsys, composition_key, n_merged, rows,
    reference. ``family`` and ``chemsys`` are group columns for grouped cross-validation."""
    skipped: list[SkippedRow] = field(default_factory=list)
    merged: list[MergedGroup] = field(default_factory=list)
    threshold: float = SUPERIONIC_THRESHOLD_S_PER_CM
    sources: tuple[str, ...] = ()
    n_rows_read: dict[str, int] = field(default_factory=dict)
    duplicates_merged: bool = True

    def summary(self) -> str:
        """A short human-readable account: rows read, skipped, merged, kept, labels."""
        lines = [f"training set from {', '.join(self.sources)} (label: sigma >= {self.threshold:g} S/cm)"]
        for source, n in self.n_rows_read.items():
            n_skip = sum(1 for s in self.skipped if s.row.startswith(f"{source}:"))
            lines.append(f"  {source}: {n} rows read, {n_skip} skipped")
        n_dupe_rows = sum(len(g.rows) for g in self.merged)
        verb = "merged" if self.duplicates_merged else "kept unmerged (merge_duplicates=False)"
        lines.append(
            f"  duplicates: {n_dupe_rows} rows of {len(self.merged)} compositions, {verb} "
            f"({sum(g.label_conflict for g in self.merged)} with disagreeing labels)"
        )
        conflicts = [g.formula for g in self.merged if g.label_conflict]
        if conflicts:
            more = f" and {len(conflicts) - 10} more" if len(conflicts) > 10 else ""
            lines.append(f"  disagreeing labels: {', '.join(conflicts[:10])}{more}")
        n_pos = int(self.frame["label"].sum())
        n = len(self.frame)
        lines.append(f"  kept {n} compositions: {n_pos} superionic, {n - n_pos} not")
        return "\n".join(lines)


def load_training_set(
    sources: Sequence[str | Path] = ("kang2023",),
    threshold: float = SUPERIONIC_THRESHOLD_S_PER_CM,
    paths: dict[str, str | Path | Sequence[str | Path]] | None = None,
    merge_duplicates: bool = True,
    mobile_ion: str | None = None,
) -> TrainingSet:
    """Load, label, clean and merge the requested sources into one training set.

    Args:
        sources: names from :data:`KNOWN_SOURCES`, and/or paths to CSV files with columns
            ``formula`` and ``sigma_rt_S_per_cm`` (``family`` optional), in priority order.
        threshold: superionic threshold (S/cm).
        paths: override the bundled file(s) of a named source, e.g. ``{"kang2023": "my.csv"}``.
        merge_duplicates: merge rows of one composition (default). ``False`` keeps every
            row (the seed's 328-row protocol); ``merged`` then lists the duplicate groups
            that were left unmerged, and ``composition_key`` identifies them.
        mobile_ion: keep only compositions containing this element (``"Li"``); the others
            are listed in ``skipped``. ``None`` (the seed's set) keeps every row. Measured
            (benchmarks/classifier_protocols.py): Na compounds in training lower every
            external and grouped score on Li compounds, so the merged recipes use ``"Li"``.
    Raises:
        ValueError: unknown source, or a file without the columns its source needs.
    """
    if isinstance(sources, (str, Path)):
        sources = (sources,)
    paths = dict(paths or {})
    records: list[dict] = []
    skipped: list[SkippedRow] = []
    n_read: dict[str, int] = {}
    names = []
    for source in sources:
        name, files = resolve_source(source, paths)
        names.append(name)
        reader = READERS.get(name, READERS["kang2023"])
        for file in files:
            raw = read_csv(file)
            rows, skips = reader(raw, name, Path(file).name)
            n_read[name] = n_read.get(name, 0) + len(raw)
            records.extend(rows)
            skipped.extend(skips)
    labelled = []
    for rec in records:
        problem = _label_row(rec, threshold)
        if not problem and mobile_ion and mobile_ion not in rec["chemsys"].split("-"):
            problem = f"no {mobile_ion} in {rec['formula']!r} (mobile_ion={mobile_ion!r})"
        if problem:
            skipped.append(SkippedRow(rec["row"], problem))
        else:
            labelled.append(rec)
    frame, merged, conflicts = _merge_duplicates(labelled, threshold)
    if merge_duplicates:
        skipped.extend(conflicts)
    else:
        frame = pd.DataFrame(
            [
                {**{c: rec.get(c) for c in FRAME_COLUMNS}, "n_merged": 1, "rows": rec["row"]}
                for rec in labelled
            ],
            columns=FRAME_COLUMNS,
        )
    return TrainingSet(
        frame=frame,
        skipped=skipped,
        merged=merged,
        threshold=threshold,
        sources=tuple(names),
        n_rows_read=n_read,
        duplicates_merged=merge_duplicates,
    )


# --- labels ----------------------------------------------------------------------------

_SIGMA = re.compile(r"^\s*(<=|>=|<|>|≤|≥)?\s*([0-9.]+(?:[eE][-+]?[0-9]+)?)\s*$")


def parse_conductivity(value) -> tuple[float, str]:
    """(sigma, bound) from a number or a string such as '3.2e-4', '<1E-10', '>1e-3'.

    ``bound`` is '' for a measured value, '<' for an upper bound, '>' for a lower bound.
    Raises ``ValueError`` with the reason for missing, unreadable or non-positive values.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise ValueError("missing conductivity")
    if isinstance(value, (int, float)):
        text = repr(float(value))
    else:
        text = str(value).strip()
    if not text or text.lower() in ("nan", "na", "n/a", "none", "null", "-"):
        raise ValueError("missing conductivity")
    match = _SIGMA.match(text)
    if not match:
        raise ValueError(f"unreadable conductivity {text!r}")
    bound = {"<=": "<", "≤": "<", ">=": ">", "≥": ">"}.get(match.group(1) or "", match.group(1) or "")
    try:
        sigma = float(match.group(2))
    except ValueError:
        raise ValueError(f"unreadable conductivity {text!r}") from None
    if not math.isfinite(sigma) or sigma <= 0:
        raise ValueError(f"non-positive or non-finite conductivity {text!r}")
    return sigma, bound


def _label_row(rec: dict, threshold: float) -> str | None:
    """Fill sigma, bound, label and composition fields; return a skip reason or None."""
    formula = rec["formula"]
    try:
        sigma, bound = parse_conductivity(rec["sigma_raw"])
    except ValueError as exc:
        return f"{exc} (formula {formula!r})"
    if bound == "<" and sigma > threshold:
        return f"upper bound {rec['sigma_raw']!r} lies above the threshold {threshold:g}: label unknown"
    if bound == ">" and sigma < threshold:
        return f"lower bound {rec['sigma_raw']!r} lies below the threshold {threshold:g}: label unknown"
    if not formula:
        return "empty formula"
    try:
        key, chemsys = composition_key(formula)
    except ValueError as exc:
        return f"unparseable formula {formula!r}: {exc}"
    rec.update(
        sigma=sigma,
        sigma_bound=bound,
        label=int(sigma >= threshold),
        composition_key=key,
        chemsys=chemsys,
    )
    return None


def composition_key(formula: str) -> tuple[str, str]:
    """(key, chemsys): atomic fractions rounded to 1e-6, sorted by element; 'Li-O-P'."""
    from pymatgen.core import Composition

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            comp = Composition(formula).element_composition
        except (ValueError, KeyError, TypeError, OverflowError, IndexError) as exc:
            raise ValueError(str(exc)) from exc
    total = comp.num_atoms
    if not comp or not math.isfinite(total) or total <= 0:
        raise ValueError("no elements with a positive amount")
    fractions = sorted((el.symbol, amount / total) for el, amount in comp.items())
    key = " ".join(f"{sym}{frac:.6f}" for sym, frac in fractions)
    return key, "-".join(sym for sym, _ in fractions)


# --- duplicates ------------------------------------------------------------------------


def _merge_duplicates(records: list[dict], threshold: float):
    """(frame, merged groups, skips for compositions whose bounds contradict each other)."""
    groups: dict[str, list[dict]] = {}
    for rec in records:
        groups.setdefault(rec["composition_key"], []).append(rec)
    rows, merged, conflicts = [], [], []
    for key, recs in groups.items():
        first = recs[0]
        measured = [r["sigma"] for r in recs if not r["sigma_bound"]]
        if measured:
            # geometric mean in log10, so that 1e-3 and 1e-5 give exactly 1e-4
            sigma = measured[0] if len(measured) == 1 else float(10 ** np.mean(np.log10(measured)))
            bound = ""
        else:  # only bounds, all on the informative side: the tightest one
            uppers = [r["sigma"] for r in recs if r["sigma_bound"] == "<"]
            lowers = [r["sigma"] for r in recs if r["sigma_bound"] == ">"]
            sigma, bound = (min(uppers), "<") if uppers else (max(lowers), ">")
            if uppers and lowers:  # '<1e-10' and '>1e-3' for one composition: drop both
                sigma, bound = float("nan"), "conflict"
        label = int(sigma >= threshold) if bound != "conflict" else -1
        families = [r["family"] for r in recs]
        family = next((f for f in families if f != UNASSIGNED_FAMILY), UNASSIGNED_FAMILY)
        sources = list(dict.fromkeys(r["source"] for r in recs))
        row = {
            "formula": first["formula"],
            "family": family,
            "sigma": sigma,
            "sigma_bound": bound,
            "label": label,
            "source": "+".join(sources),
            "chemsys": first["chemsys"],
            "composition_key": key,
            "n_merged": len(recs),
            "rows": ";".join(r["row"] for r in recs),
            "reference": first["reference"],
        }
        if len(recs) > 1:
            merged.append(
                MergedGroup(
                    composition_key=key,
                    formula=first["formula"],
                    rows=[r["row"] for r in recs],
                    sigmas=[r["sigma"] for r in recs],
                    bounds=[r["sigma_bound"] for r in recs],
                    merged_sigma=sigma,
                    label=label,
                    families=families,
                    label_conflict=len({r["label"] for r in recs}) > 1,
                )
            )
        if bound == "conflict":
            conflicts.extend(
                SkippedRow(r["row"], f"bounds contradict other rows of {first['formula']!r}") for r in recs
            )
            continue
        rows.append(row)
    frame = pd.DataFrame(rows, columns=FRAME_COLUMNS)
    frame["label"] = frame["label"].astype(int)
    return frame, merged, conflicts
