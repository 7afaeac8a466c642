"""Upserts on the embedded store never leave a window where a document is missing.

A writer process upserts the same keys over and over and is killed with SIGKILL at several
moments of a batch; after each kill every key is still there exactly once, and the stored
version of each key is one the writer wrote.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

N_DOCS = 4_000

WRITER = """
import sys
import superionic.stores
from superionic.stores import open_stores
assert superionic.stores.__file__.startswith(sys.argv[4]), superionic.stores.__file__
stores = open_stores(sys.argv[1])
n = int(sys.argv[2])
version = int(sys.argv[3])
while True:
    version += 1
    docs = [{"material_id": f"mp-{i}", "version": version, "payload": list(range(300))} for i in range(n)]
    print(f"writing {version}", flush=True)
    stores.screening.update(docs, key="material_id")
    print(f"wrote {version}", flush=True)
"""


def _check(spec: str) -> set[int]:
    from superionic.stores import open_stores

    stores = open_stores(spec)
    try:
        docs = list(stores.screening.query(properties=["material_id", "version"]))
    finally:
        stores.close()
    ids = [d["material_id"] for d in docs]
    assert len(set(ids)) == N_DOCS, f"{N_DOCS - len(set(ids))} documents lost"
    assert len(ids) == N_DOCS, f"{len(ids) - N_DOCS} duplicate documents left"
    return {d["version"] for d in docs}


@pytest.mark.parametrize("delay_fraction", [0.5, 0.8, 0.9])
def test_killed_writer_loses_nothing(tmp_path, delay_fraction):
    from superionic.stores import open_stores

    spec = f"monty://{tmp_path / 'store'}"
    stores = open_stores(spec)
    stores.screening.update([{"material_id": f"mp-{i}", "version": 0, "payload": list(range(300))}
                             for i in range(N_DOCS)], key="material_id")
    stores.close()

    import superionic

    src = str(Path(superionic.__file__).resolve().parents[1])  # the code under test, from any cwd
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    writer = subprocess.Popen([sys.executable, "-c", WRITER, spec, str(N_DOCS), "0", src], env=env,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().startswith("writing 1")
        start = time.perf_counter()
        assert writer.stdout.readline().startswith("wrote 1")  # one full replacement done
        batch_seconds = time.perf_counter() - start
        assert writer.stdout.readline().startswith("writing 2")
        time.sleep(delay_fraction * batch_seconds)  # somewhere inside the second batch
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
    versions = _check(spec)
    assert len(versions) == 1 and versions <= {1, 2}  # the old batch or the new one, whole

    stores = open_stores(spec)  # and the store still takes writes after the crash
    stores.screening.update([{"material_id": "mp-0", "version": 99, "payload": []}], key="material_id")
    stores.close()
    assert 99 in _check(spec)


def test_memory_store_writes_new_versions_before_removing_old(memory_stores):
    """The non-transactional path: insert first, then delete exactly the old ``_id``s."""
    store = memory_stores.screening
    store.update([{"material_id": f"mp-{i}", "version": 0} for i in range(50)], key="material_id")
    seen = []
    original_insert = store._insert

    def spying_insert(docs):
        seen.append(store._collection.count_documents({}))  # old versions all still there
        original_insert(docs)

    store._insert = spying_insert
    store.update([{"material_id": f"mp-{i}", "version": 1} for i in range(50)], key="material_id")
    assert seen == [50]
    assert store.count() == 50 and {d["version"] for d in store.query()} == {1}


@pytest.mark.parametrize("kind", ["memory", "monty"])
def test_reupserting_documents_read_back_with_their_ids(kind, memory_stores, monty_stores):
    store = (memory_stores if kind == "memory" else monty_stores).screening
    store.update([{"material_id": f"mp-{i}", "version": 0} for i in range(5)], key="material_id")
    docs = list(store.query())  # with their _id
    for doc in docs:
        doc["version"] = 1
    store.update(docs, key="material_id")
    assert store.count() == 5 and {d["version"] for d in store.query()} == {1}
