"""Stores: specs, bulk upsert semantics, on-disk persistence, clear errors, MongoDB."""

from __future__ import annotations

import time
import warnings

import pytest

from superionic.stores import COLLECTIONS, StoreSpecError, open_stores, resolve_spec


def test_spec_parsing(tmp_path):
    assert resolve_spec("memory://")["type"] == "memory"
    assert resolve_spec(f"monty://{tmp_path}")["path"] == str(tmp_path)
    assert resolve_spec("mongodb://localhost:27017/sx")["type"] == "mongodb"
    assert resolve_spec("local")["type"] == "monty"  # stores/local.yaml
    assert resolve_spec("memory")["type"] == "memory"


@pytest.mark.parametrize("spec", ["", "monty://", "nosuchscheme://x", "no-such-name"])
def test_bad_spec_names_the_spec(spec):
    with pytest.raises(StoreSpecError) as err:
        resolve_spec(spec)
    assert "monty://" in str(err.value)


def test_spec_file_that_does_not_parse(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("spec: [unclosed\n")
    with pytest.raises(StoreSpecError, match="not valid YAML"):
        open_stores(str(bad))
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("type: cassandra\n")
    with pytest.raises(StoreSpecError, match="must be a mapping"):
        open_stores(str(wrong))


def test_spec_file_with_monty_path(tmp_path):
    spec = tmp_path / "mine.yaml"
    spec.write_text(f"spec: monty://{tmp_path / 'db'}\n")
    stores = open_stores(str(spec))
    stores.materials.update([{"material_id": "a", "x": 1}])
    assert stores.materials.count() == 1


def test_unwritable_monty_path():
    with pytest.raises(StoreSpecError, match="writable"):
        open_stores("monty:///proc/superionic-cannot-write-here")


def test_unreachable_mongodb_fails_fast():
    start = time.perf_counter()
    with pytest.raises(StoreSpecError) as err:
        open_stores("mongodb://127.0.0.1:9/superionic")
    assert time.perf_counter() - start < 20  # never pymongo's 30 s default
    assert "mongodb://127.0.0.1:9/superionic" in str(err.value)
    assert "monty://" in str(err.value)


@pytest.mark.parametrize("fixture", ["memory_stores", "monty_stores"])
def test_upsert_replaces_never_duplicates(fixture, request):
    stores = request.getfixturevalue(fixture)
    assert set(COLLECTIONS) <= set(stores.named)
    docs = [{"material_id": f"mp-{i}", "v": i} for i in range(50)]
    stores.materials.update(docs)
    stores.materials.update([{"material_id": "mp-3", "v": -3}, {"material_id": "mp-99", "v": 99}])
    assert stores.materials.count() == 51
    assert stores.materials.query_one({"material_id": "mp-3"})["v"] == -3
    # duplicates inside one batch: the last one wins
    stores.materials.update([{"material_id": "mp-7", "v": 1}, {"material_id": "mp-7", "v": 2}])
    assert stores.materials.count({"material_id": "mp-7"}) == 1
    assert stores.materials.query_one({"material_id": "mp-7"})["v"] == 2


def test_composite_key_upsert(memory_stores):
    store = memory_stores.diffusion
    store.update([{"material_id": "a", "T": 600, "d": 1}, {"material_id": "a", "T": 800, "d": 2}], key=["material_id", "T"])
    store.update([{"material_id": "a", "T": 600, "d": 3}], key=["material_id", "T"])
    assert store.count() == 2
    assert store.query_one({"T": 600})["d"] == 3


def test_monty_store_persists_across_reopen(tmp_path):
    spec = f"monty://{tmp_path / 'db'}"
    stores = open_stores(spec)
    stores.screening.update([{"material_id": f"m{i}", "ok": True} for i in range(20)])
    stores.close()
    again = open_stores(spec)
    assert again.screening.count() == 20
    assert again.materials.count() == 0


def test_job_store_has_data_store(monty_stores):
    js = monty_stores.job_store()
    assert "data" in js.additional_stores


@pytest.mark.mongodb
def test_mongodb_roundtrip(mongodb_uri):
    stores = open_stores(mongodb_uri)
    stores.materials.remove_docs({"material_id": {"$regex": "^sx-test-"}})
    stores.materials.update([{"material_id": "sx-test-1", "v": 1}])
    stores.materials.update([{"material_id": "sx-test-1", "v": 2}])
    assert stores.materials.count({"material_id": "sx-test-1"}) == 1
    stores.materials.remove_docs({"material_id": {"$regex": "^sx-test-"}})


def test_update_changed_keeps_unchanged_documents(monty_stores):
    from superionic.stores import update_changed

    store = monty_stores.materials
    docs = [{"material_id": f"m{i}", "v": i, "last_updated": i} for i in range(5)]
    assert update_changed(store, docs, "material_id") == 5
    rerun = [{**d, "last_updated": 100} for d in docs]
    rerun[2]["v"] = -2
    assert update_changed(store, rerun, "material_id") == 1
    stamps = {d["material_id"]: d["last_updated"] for d in store.query()}
    assert stamps == {"m0": 0, "m1": 1, "m2": 100, "m3": 3, "m4": 4}


@pytest.fixture
def montydb_check():
    """``montydb_private_ok`` with its once-per-process answer forgotten before and after."""
    from superionic.stores import montydb_private_ok

    montydb_private_ok.cache_clear()
    yield montydb_private_ok
    montydb_private_ok.cache_clear()


def test_installed_montydb_passes_the_private_path_self_check(montydb_check):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert montydb_check()  # the fast atomic upsert is what runs with the capped montydb


@pytest.mark.parametrize("breakage", ["raises", "writes_nothing"])
def test_a_broken_montydb_private_path_falls_back_to_the_public_api(breakage, montydb_check, monkeypatch,
                                                                   tmp_path):
    from superionic.stores import FastMontyStore

    def broken(self, stale, batch):
        if breakage == "raises":
            raise AttributeError("'SQLiteKVEngine' object has no attribute '_conn'")  # a changed internal

    monkeypatch.setattr(FastMontyStore, "_sqlite_replace", broken)
    spec = f"monty://{tmp_path / 'db'}"
    stores = open_stores(spec)
    with pytest.warns(UserWarning, match="montydb .*public API"):
        stores.screening.update([{"material_id": f"mp-{i}", "v": 1} for i in range(3)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # checked once per process: no second warning
        stores.screening.update([{"material_id": "mp-1", "v": 2}, {"material_id": "mp-3", "v": 2}])
    stores.close()
    again = open_stores(spec)
    docs = list(again.screening.query())
    assert sorted((d["material_id"], d["v"]) for d in docs) == [("mp-0", 1), ("mp-1", 2), ("mp-2", 1), ("mp-3", 2)]
    assert not montydb_check()
