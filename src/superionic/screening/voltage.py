"""Electrochemical stability window from the Li grand-potential phase diagram.

Physics
-------
A solid electrolyte in contact with an electrode at potential ``V`` (vs Li/Li+) is open
to Li at chemical potential ``mu_Li = mu_Li(metal) - eV``. Along the line that joins the
composition to pure Li, pymatgen's ``PhaseDiagram.get_element_profile`` lists the
*critical compositions* where the equilibrium phase assemblage changes, the Li chemical
potential of each stage and the Li taken up or released (``evolution``) to reach it.

* Stages whose evolution is zero hold the composition itself: the window is the range of
  ``mu_Li`` over which they are stable,
  ``V_red = -(mu_high - mu_Li(metal))/e`` and ``V_ox = -(mu_low - mu_Li(metal))/e``
  (``V_ox`` is the delithiation limit of the issue: the potential where Li starts to
  leave). ``V_red = 0`` when the compound is stable against Li metal.
* If no stage has zero evolution the composition lies *inside* a Li-exchanging facet
  (typical of compounds above the hull and of many Li-S-X compositions): it is in
  equilibrium with the electrode at a single potential, the window is a point.

Compounds above the hull are not moved onto it: the window is that of their equilibrium
phase assemblage at the same composition (reported in ``decomposition``, with a warning).
Placing the compound 1e-8 eV below the hull instead (as SeoinBack/ML-HTVS-Li-SE and the
interface_stability code of the Mo group do) gives the same limits to within ~1e-7 V;
the 306 reference windows in ``shared/data/reference`` are reproduced to that level.

Entries must come from ONE database version with one correction scheme (use them as
stored: the bundled MP entries carry their MP2020 corrections); see
``entry_consistency``.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field
from pymatgen.analysis.phase_diagram import PhaseDiagram
from pymatgen.core import Composition, Element
from pymatgen.entries import Entry

from superionic.screening.entry_consistency import check_entry_consistency

METHOD_PHASE_DIAGRAM = "grand_potential_phase_diagram"
OPEN_ELEMENT = "Li"


class StabilityWindowError(ValueError):
    """A window cannot be computed; ``reason`` says why in words a user can act on."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class EntryMixingError(StabilityWindowError):
    """The entries mix database versions or correction schemes."""


class StabilityWindow(BaseModel):
    """Electrochemical stability window of one composition vs Li/Li+."""

    model_config = ConfigDict(extra="forbid")

    formula: str = Field(description="Reduced formula of the composition.")
    chemsys: str = Field(description="Chemical system of the phase diagram, e.g. 'Li-O-P'.")
    method: str = Field(
        description="'grand_potential_phase_diagram' (computed here from entries) or "
        "'published:<source>' (a looked-up literature value, not computed)."
    )
    reduction_limit_v: float | None = Field(
        description="Lower limit in V vs Li/Li+: below it the compound is reduced "
        "(takes up Li). 0 when stable against Li metal."
    )
    oxidation_limit_v: float | None = Field(
        description="Upper limit in V vs Li/Li+ (V_ox): above it the compound is "
        "oxidised (gives up Li). None for a Li-free composition (no Li to extract)."
    )
    width_v: float | None = Field(
        description="oxidation_limit_v - reduction_limit_v; None when a limit is None."
    )
    is_point_window: bool = Field(
        description="True when the width is below point_tol_v: the composition is in "
        "equilibrium with the electrode at one potential only."
    )
    reduction_products: list[str] = Field(
        default_factory=list,
        description="Reduced formulas of the phases formed just below the reduction "
        "limit (empty when stable against Li metal).",
    )
    oxidation_products: list[str] = Field(
        default_factory=list,
        description="Reduced formulas of the phases formed just above the oxidation "
        "limit (Li leaves to the electrode).",
    )
    reduction_reaction: str | None = Field(
        default=None, description="Balanced reduction reaction at the lower limit."
    )
    oxidation_reaction: str | None = Field(
        default=None, description="Balanced oxidation reaction at the upper limit."
    )
    decomposition: list[str] = Field(
        default_factory=list,
        description="Equilibrium phases at the composition itself (only the compound "
        "when it is on the hull).",
    )
    e_above_hull_ev_per_atom: float | None = Field(
        default=None,
        description="Energy above the hull of the lowest-energy entry with this formula "
        "in this diagram (eV/atom); None when no entry has the formula.",
    )
    matched_entry_id: str | None = Field(
        default=None, description="entry_id of that lowest-energy entry, if any."
    )
    n_entries: int | None = Field(
        default=None, description="Number of entries in the phase diagram."
    )
    mu_li_ref_ev: float | None = Field(
        default=None, description="Energy per atom of the Li metal reference (eV)."
    )
    entry_source: str | None = Field(
        default=None,
        description="Which energy set the entries came from (e.g. a bundled set name or "
        "'mp-api'); for a published window, the data file.",
    )
    reference: str | None = Field(
        default=None, description="Citation of a published window (method 'published:*')."
    )
    warnings: list[str] = Field(
        default_factory=list, description="Caveats a user should read with the numbers."
    )


def parse_composition(composition: Composition | str | Entry) -> Composition:
    """Composition from a formula, Composition or Entry; StabilityWindowError if bad."""
    if isinstance(composition, Entry):
        return composition.composition
    if isinstance(composition, Composition):
        return composition
    try:
        comp = Composition(str(composition))
    except Exception as exc:  # pymatgen raises ValueError/KeyError/...
        raise StabilityWindowError(f"cannot parse formula {composition!r}: {exc}") from exc
    if comp.num_atoms <= 0:
        raise StabilityWindowError(f"formula {composition!r} has no atoms")
    unknown = [str(el) for el in comp.elements if not isinstance(el, Element)]
    if unknown:
        raise StabilityWindowError(
            f"formula {composition!r} contains unknown element(s) {', '.join(unknown)}"
        )
    return comp


def chemsys_string(elements) -> str:
    """'A-B-C' with sorted symbols, the MP convention."""
    return "-".join(sorted({str(getattr(e, "symbol", e)) for e in elements}))


def _formulas(entries) -> list[str]:
    return sorted({e.composition.reduced_formula for e in entries})


def _select_entries(comp: Composition, entries, own: Entry | None) -> list[Entry]:
    if isinstance(entries, PhaseDiagram):
        entries = entries.all_entries
    wanted = {el.symbol for el in comp.elements} | {OPEN_ELEMENT}
    chosen = [
        e for e in entries if {el.symbol for el in e.composition.elements} <= wanted
    ]
    if own is not None and not any(e is own for e in chosen):
        chosen.append(own)
    missing = sorted(
        el
        for el in wanted
        if not any(e.composition.is_element and e.composition.elements[0].symbol == el
                   for e in chosen)
    )
    if missing:
        raise StabilityWindowError(
            f"no elemental reference entry for {', '.join(missing)} among the "
            f"{len(chosen)} entries of {chemsys_string(wanted)}: the phase diagram needs "
            "every element of the chemical system (fetch the full chemical system)"
        )
    return chosen


def _hull_position(pd: PhaseDiagram, comp: Composition, entries) -> tuple:
    """(e_above_hull, matched entry id, decomposition formulas) of the composition."""
    same = [e for e in entries if e.composition.reduced_formula == comp.reduced_formula]
    decomposition = _formulas(pd.get_decomposition(comp))
    if not same:
        return None, None, decomposition
    best = min(same, key=lambda e: e.energy_per_atom)
    e_hull = pd.get_e_above_hull(best, allow_negative=True)
    entry_id = str(best.entry_id) if getattr(best, "entry_id", None) else None
    return float(e_hull), entry_id, decomposition


def _limits(profile, mu0: float, tol: float):
    """Indices of the window in the element profile and the limits in V."""
    mu = [stage["chempot"] - mu0 for stage in profile]
    evolution = [stage["evolution"] for stage in profile]
    zero = [i for i, ev in enumerate(evolution) if abs(ev) <= tol]
    if zero:
        first, last = zero[0], zero[-1]
        v_red = 0.0 if first == 0 else -mu[first]
        v_ox = -mu[last + 1] if last + 1 < len(mu) else None
        return first - 1, last + 1, v_red, v_ox
    # inside a facet: Li-rich stages take up Li (evolution > 0), Li-poor ones release it
    k = next((i for i, ev in enumerate(evolution) if ev < 0), len(evolution) - 1)
    v = 0.0 if k == 0 else -mu[k]
    return k - 1, k, v, v


def stability_window(
    composition: Composition | str | Entry,
    entries: Sequence[Entry] | PhaseDiagram,
    *,
    entry_source: str | None = None,
    evolution_tol: float = 1e-6,
    point_tol_v: float = 1e-4,
) -> StabilityWindow:
    """Stability window of ``composition`` from the Li grand-potential phase diagram.

    Args:
        composition: formula, Composition, or an Entry (a user's own computed compound;
            it is added to the diagram when not already among ``entries``).
        entries: every entry of the chemical system (or a larger one: entries outside
            the composition's elements + Li are dropped), from ONE database version and
            correction scheme, energies used as stored. A PhaseDiagram is also accepted.
        entry_source: label of the energy set, copied into the result.
        evolution_tol: |Li evolution| per formula unit below which a stage counts as the
            composition itself.
        point_tol_v: width below which the window is flagged as a point.

    Raises:
        StabilityWindowError: unparseable formula, composition of pure Li, a missing
            elemental reference, or (EntryMixingError) entries that mix MP versions.
    """
    own = composition if isinstance(composition, Entry) else None
    comp = parse_composition(composition)
    li = Element(OPEN_ELEMENT)
    if all(el == li for el in comp.elements):
        raise StabilityWindowError("composition is pure Li: no window to compute")
    selected = _select_entries(comp, entries, own)
    problems, warnings = check_entry_consistency(selected)
    if problems:
        raise EntryMixingError("; ".join(problems))

    reuse = isinstance(entries, PhaseDiagram) and own is None
    try:
        pd = entries if reuse and len(selected) == len(entries.all_entries) else PhaseDiagram(selected)
    except Exception as exc:  # qhull or pymatgen failures, reported with the system
        raise StabilityWindowError(f"phase diagram construction failed: {exc}") from exc
    mu0 = pd.el_refs[li].energy_per_atom
    reduced = comp.reduced_composition
    e_hull, matched, decomposition = _hull_position(pd, reduced, selected)
    profile = pd.get_element_profile(li, reduced)
    i_red, i_ox, v_red, v_ox = _limits(profile, mu0, evolution_tol * reduced.num_atoms)

    formula = reduced.reduced_formula
    if e_hull is None:
        warnings.append(
            f"no entry with formula {formula} in the diagram: window of its equilibrium "
            f"phase assemblage ({', '.join(decomposition)})"
        )
    elif e_hull > 1e-8:
        warnings.append(
            f"{formula} is {1000 * e_hull:.1f} meV/atom above the hull: window of its "
            f"decomposition products ({', '.join(decomposition)})"
        )
    if li not in comp.elements:
        warnings.append("Li-free composition: no oxidation limit from Li extraction")
        v_ox = None
    width = None if v_ox is None else v_ox - v_red
    is_point = width is not None and width < point_tol_v
    if is_point:
        warnings.append(
            f"point window at {v_red:.3f} V: the composition reacts with the electrode "
            "at any other potential"
        )
    red_stage = profile[i_red] if i_red >= 0 else None
    ox_stage = profile[i_ox] if v_ox is not None and i_ox < len(profile) else None
    return StabilityWindow(
        formula=formula,
        chemsys=chemsys_string(pd.elements),
        method=METHOD_PHASE_DIAGRAM,
        reduction_limit_v=float(v_red),
        oxidation_limit_v=None if v_ox is None else float(v_ox),
        width_v=None if width is None else float(width),
        is_point_window=is_point,
        reduction_products=_formulas(red_stage["entries"]) if red_stage else [],
        oxidation_products=_formulas(ox_stage["entries"]) if ox_stage else [],
        reduction_reaction=str(red_stage["reaction"]) if red_stage else None,
        oxidation_reaction=str(ox_stage["reaction"]) if ox_stage else None,
        decomposition=decomposition,
        e_above_hull_ev_per_atom=e_hull,
        matched_entry_id=matched,
        n_entries=len(selected),
        mu_li_ref_ev=float(mu0),
        entry_source=entry_source,
        warnings=warnings,
    )
