"""Shared fixtures: the project's data folder, isolated settings, real stores."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _shared_data_dir() -> Path:
    env = os.environ.get("SUPERIONIC_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The project's shared data folder (../shared/data); tests skip if it is absent."""
    path = _shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"shared data not found at {path} (set SUPERIONIC_SHARED_DATA)")
    return path


@pytest.fixture(autouse=True)
def _work_in_tmp(tmp_path, monkeypatch):
    """Run every test in its own folder: atomate2 jobs write files into the working directory."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path_factory, monkeypatch):
    """Every test gets its own data dir and no user config file or MP key."""
    from superionic.settings import get_settings

    home = tmp_path_factory.mktemp("superionic_home")
    monkeypatch.setenv("SUPERIONIC_DATA_DIR", str(home))
    monkeypatch.setenv("SUPERIONIC_CONFIG_FILE", str(home / "absent.yaml"))
    monkeypatch.delenv("SUPERIONIC_STORE", raising=False)
    monkeypatch.delenv("MP_API_KEY", raising=False)
    monkeypatch.delenv("SUPERIONIC_MP_API_KEY", raising=False)
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


@pytest.fixture
def memory_stores():
    """All project stores in memory (tests only)."""
    from superionic.stores import open_stores

    stores = open_stores("memory://test")
    yield stores
    stores.close()


@pytest.fixture
def monty_stores(tmp_path):
    """All project stores on disk (montydb), the embedded default."""
    from superionic.stores import open_stores

    stores = open_stores(f"monty://{tmp_path / 'store'}")
    yield stores
    stores.close()


@pytest.fixture
def mongodb_uri():
    """A MongoDB URI from SUPERIONIC_TEST_MONGODB_URI, else skip."""
    uri = os.environ.get("SUPERIONIC_TEST_MONGODB_URI")
    if not uri:
        pytest.skip("SUPERIONIC_TEST_MONGODB_URI not set")
    return uri
