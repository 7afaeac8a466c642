"""Write N documents and read them back: superionic's bulk upsert vs maggma's update().

Usage: python benchmarks/store_upsert.py [N]   (default 20,000; maggma's own update is
timed on 2,000 documents only, since it is quadratic on montydb).
"""

from __future__ import annotations

import sys
import tempfile
import time

from maggma.stores import MontyStore

from superionic.stores import open_stores


def docs(n: int, offset: int = 0) -> list[dict]:
    return [{"material_id": f"mp-{i}", "formula": "Li3PS4", "v": i + offset, "features": list(range(20))} for i in range(n)]


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(n: int = 20_000) -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        store = open_stores(f"monty://{tmp}/fast").materials
        rows.append(("superionic monty", f"insert {n:,}", timed(lambda: store.update(docs(n)))))
        rows.append(("superionic monty", f"upsert {n // 2:,} into {n:,}", timed(lambda: store.update(docs(n // 2, 1)))))
        rows.append(("superionic monty", f"read {n:,}", timed(lambda: list(store.query()))))
        assert store.count() == n
        small = 2_000
        plain = MontyStore("materials", database_path=f"{tmp}/plain", key="material_id")
        plain.connect()
        rows.append(("maggma MontyStore", f"update {small:,}", timed(lambda: plain.update(docs(small)))))
    print(f"{'store':<20} {'operation':<28} {'seconds':>8}")
    for store_name, op, seconds in rows:
        print(f"{store_name:<20} {op:<28} {seconds:>8.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
