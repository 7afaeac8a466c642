"""Explicit element sets used by the screening criteria.

The seed's first screen removes compounds that contain a *transition metal*, meaning the
d-block: Sc-Zn, Y-Cd, La and Hf-Hg (30 elements; La is counted in the d-block as the
group-3 element of period 6, as in the seed). Elements outside that set pass, notably

* the lanthanides Ce-Lu (several of the seed's hits contain Nd, Pr, Er or Tm),
* the post-transition metals Ga, In, Tl, Sn, Pb, Bi,
* the actinides (Ac-Lr): our choice. They are f-block, not d-block, so the seed's
  d-block rule lets them through (the bundled 560-compound pre-screened list contains Th,
  Pa and U compounds, i.e. its authors let them pass too). They are radioactive and
  impractical as electrolyte components: users who want them out add ``ACTINIDES`` to the
  excluded set (``TRANSITION_METALS | ACTINIDES``).

The sets are plain ``frozenset``s of element symbols so that a criterion can take any of
them (or a user's own) as its configuration. pymatgen's ``Element.is_transition_metal``
is deliberately not used: it also counts Ac and the superheavy elements Rf-Cn.
"""

from __future__ import annotations

from collections.abc import Iterable

from pymatgen.core import Composition

TRANSITION_METALS: frozenset[str] = frozenset(
    # 3d
    "Sc Ti V Cr Mn Fe Co Ni Cu Zn".split()
    # 4d
    + "Y Zr Nb Mo Tc Ru Rh Pd Ag Cd".split()
    # 5d (La is the group-3 element; the lanthanides Ce-Lu are not included)
    + "La Hf Ta W Re Os Ir Pt Au Hg".split()
)
"""d-block elements excluded by the seed's transition-metal screen (30 symbols)."""

LANTHANIDES: frozenset[str] = frozenset(
    "Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu".split()
)
"""Ce-Lu: f-block, NOT in ``TRANSITION_METALS`` (they pass the seed's screen)."""

ACTINIDES: frozenset[str] = frozenset(
    "Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md No Lr".split()
)
"""Ac-Lr: NOT in ``TRANSITION_METALS``; add them to the excluded set to drop them."""

POST_TRANSITION_METALS: frozenset[str] = frozenset("Al Ga In Tl Sn Pb Bi Po".split())
"""p-block metals; they pass the seed's screen (Bi, Pb, Sn appear in its hits)."""

RADIOACTIVE: frozenset[str] = frozenset(
    "Tc Pm Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md No Lr".split()
)
"""Elements without a stable isotope (Tc, Pm, Po and every heavier element): removed by the
default ``no_radioactive_element`` step that follows the seed's four screens. Bi (half-life
2e19 years) counts as stable. Th and U are primordial but radioactive, regulated and
alpha-emitting: no battery chemist keeps them on an electrolyte shortlist."""

HALOGENS: frozenset[str] = frozenset("F Cl Br I At".split())
"""Group-17 elements."""


def _symbols(composition: Composition | str) -> set[str]:
    comp = composition if isinstance(composition, Composition) else Composition(composition)
    return {el.symbol for el in comp.elements}


def excluded_elements_in(
    composition: Composition | str, excluded: Iterable[str] = TRANSITION_METALS
) -> list[str]:
    """Sorted symbols of ``composition`` that belong to ``excluded``.

    An empty list means the composition passes the element screen.
    """
    return sorted(_symbols(composition) & set(excluded))


def has_transition_metal(
    composition: Composition | str, excluded: Iterable[str] = TRANSITION_METALS
) -> bool:
    """True when ``composition`` contains any element of ``excluded`` (default: d-block)."""
    return bool(excluded_elements_in(composition, excluded))
