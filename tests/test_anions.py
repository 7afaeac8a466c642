"""Anion-type classification and the explicit transition-metal set."""

from __future__ import annotations

import pytest

from superionic.screening.anions import ANION_TYPES, anion_type, classify_anions
from superionic.screening.elements import (
    ACTINIDES,
    LANTHANIDES,
    TRANSITION_METALS,
    excluded_elements_in,
    has_transition_metal,
)

# the seed authors' nine AIMD hits (shared/data/aimd/kang2023)
SEED_HITS = {
    "LiAlS2": "sulfide", "RbLi6B2O6F": "mixed", "LiBiS2": "sulfide", "Li3ErBr6": "halide",
    "Li2GePbS4": "sulfide", "Li2B2S5": "sulfide", "Li5B7S13": "sulfide",
    "BaLi(BS2)3": "sulfide", "Li3ErCl6": "halide",
}  # fmt: skip


@pytest.mark.parametrize(
    ("formula", "expected", "anions"),
    [
        ("Li3PO4", "oxide", ["O"]),  # P is the centre of the phosphate anion
        ("Li2SO4", "oxide", ["O"]),
        ("LiClO4", "oxide", ["O"]),
        ("LiOH", "oxide", ["O"]),  # H+ in a hydroxide
        ("Li2O2", "oxide", ["O"]),  # peroxide: fallback average state -1
        ("Li3PS4", "sulfide", ["S"]),  # thiophosphate = sulfide
        ("Li10GeP2S12", "sulfide", ["S"]),
        ("Li2S8", "sulfide", ["S"]),
        ("Li3N", "nitride", ["N"]),
        ("LiPN2", "nitride", ["N"]),
        ("Li3P", "phosphide", ["P"]),
        ("LiBH4", "hydride", ["H"]),
        ("Li2Se", "selenide", ["Se"]),
        ("Li2Te", "telluride", ["Te"]),
        ("LiSi", "silicide", ["Si"]),
        ("K2LiSn4", "intermetallic", ["Sn"]),
        ("Li3InCl6", "halide", ["Cl"]),
        ("LiBF4", "halide", ["F"]),
        ("Li6PS5Cl", "mixed", ["Cl", "S"]),
        ("Li3OCl", "mixed", ["O", "Cl"]),
    ],
)
def test_anion_type_examples(formula, expected, anions):
    result = classify_anions(formula)
    assert result.anion_type == expected
    assert result.anions == anions
    assert anion_type(formula) == expected


def test_subtypes_and_methods():
    assert classify_anions("Li3ErCl6").subtype == "chloride"
    assert classify_anions("Li3YBr3Cl3").subtype == "mixed halide"
    assert classify_anions("Li6PS5Cl").subtype == "chloride+sulfide"
    assert classify_anions("Li3OCl").subtype == "oxide+chloride"
    assert classify_anions("Li3PO4").method == "charge_balance"
    assert classify_anions("Li2O2").method == "electronegative_average"
    assert classify_anions("Li3PO4").oxidation_states == {"Li": 1.0, "P": 5.0, "O": -2.0}
    assert anion_type("Li") == "element"


def test_seed_hits_classified():
    for formula, expected in SEED_HITS.items():
        assert anion_type(formula) == expected, formula
        assert not has_transition_metal(formula), formula


def test_every_label_is_declared():
    for formula in ["LiAl", "Li2B12C2", "LiSiB6", "K3LiGe4", "Li5Br2N", *SEED_HITS]:
        assert anion_type(formula) in ANION_TYPES


def test_transition_metal_set():
    assert len(TRANSITION_METALS) == 30
    assert {"Sc", "Zn", "Y", "Cd", "La", "Hf", "Hg", "Tc"} <= TRANSITION_METALS
    # lanthanides, actinides and post-transition metals pass the seed's screen
    assert not (LANTHANIDES | ACTINIDES) & TRANSITION_METALS
    assert not {"Bi", "Pb", "Sn", "Ga", "In", "Al"} & TRANSITION_METALS
    assert has_transition_metal("LiFePO4")
    assert has_transition_metal("Li7La3Zr2O12")
    assert excluded_elements_in("Li7La3Zr2O12") == ["La", "Zr"]
    assert not has_transition_metal("Li3ErCl6") and not has_transition_metal("LiNdO2")
    assert not has_transition_metal("Li2UO4")  # actinides pass by default...
    assert has_transition_metal("Li2UO4", TRANSITION_METALS | ACTINIDES)  # ...unless asked
