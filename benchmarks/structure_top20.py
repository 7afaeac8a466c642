"""Issue 22, 'Must show': the default run's top 20 holds no uranium (or other radioactive)
compound and no flagged hydrate / molecular salt unless a reason is shown beside it.

Reads the candidate table of a store that a default-style run filled (``superionic run``, or
``superionic run --top 0`` to skip the MD) exactly as ``superionic query`` shows it, and
prints each of the top 20 with its radioactive elements, structure flags and the evidence text
shown beside it; exits 1 when a radioactive or flagged row has no reason beside it.

    PYTHONPATH=src .venv/bin/python -m superionic.cli run --top 0 --store monty://DIR
    PYTHONPATH=src .venv/bin/python benchmarks/structure_top20.py --store monty://DIR
"""

from __future__ import annotations

import argparse
import sys

from pymatgen.core import Composition


def main() -> int:
    from superionic.results import candidate_rows
    from superionic.screening.elements import RADIOACTIVE
    from superionic.stores import open_stores

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()
    stores = open_stores(args.store)
    try:
        rows = candidate_rows(stores)[: args.top]
    finally:
        stores.close()
    bad = 0
    for i, r in enumerate(rows, 1):
        radioactive = sorted(el.symbol for el in Composition(r["formula"]).elements if el.symbol in RADIOACTIVE)
        flagged = r["structure_flags"]
        reason_shown = bool(flagged) and flagged in (r["evidence"] or "")
        if radioactive or (flagged and not reason_shown):
            bad += 1
        print(f"{i:2d} {r['material_id']:<11} {r['formula']:<18} p={r['probability'] or 0:.2f} "
              f"in_domain={r['in_domain']} radioactive={radioactive or '-'} flags={flagged or '-'} | {r['evidence']}")
    print(f"top {len(rows)}: {sum(bool(r['structure_flags']) for r in rows)} flagged (each with its flag in the "
          f"evidence column), {bad} radioactive or flagged without a reason")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
