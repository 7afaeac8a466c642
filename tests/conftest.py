"""Shared fixtures: the project's data folder, isolated settings, real stores."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _shared_data_dir() -> Path:
    env = os.environ.get("SUPERIONIC_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


REFERENCE_DATA = REPO / "tests" / "data"
"""Reference data shipped with the repository (licences and sources in tests/data/README.md),
laid out as in ../shared/data so a test can swap one fixture for the other."""

UNLICENSED = (
    "data without a redistribution licence is not shipped with the repository (the seed "
    "authors' AIMD trajectories and simulation cells, kang2023; the seoinback Li-S-X windows; "
    "the originals the bundled copies are checked against): it lives in ../shared/data"
)


@pytest.fixture(scope="session")
def reference_data() -> Path:
    """tests/data: the licensed reference data the science tests need (always present)."""
    return REFERENCE_DATA


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (or SUPERIONIC_SHARED_DATA), for data the repository may not ship.

    Only tests that need unlicensed data use it; they skip with that reason on a clone
    without ../shared. Everything with a licence that allows it is in ``reference_data``.
    """
    path = _shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"{UNLICENSED}; not found at {path} (set SUPERIONIC_SHARED_DATA)")
    return path


@pytest.fixture(autouse=True)
def _work_in_tmp(tmp_path, monkeypatch):
    """Run every test in its own folder: atomate2 jobs write files into the working directory."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def _no_logging_into_closed_streams():
    """Third-party loggers (FireWorks', jobflow's) bind a StreamHandler to the sys.stdout/stderr of
    the moment; under click's CliRunner those are its capture streams, closed when the command
    returns. Such a handler would print a "Logging error" into a later test's output: drop it."""
    import logging

    yield
    loggers = [logging.getLogger(), *(lg for lg in logging.Logger.manager.loggerDict.values()
                                      if isinstance(lg, logging.Logger))]
    for logger in loggers:
        for handler in list(logger.handlers):
            if getattr(getattr(handler, "stream", None), "closed", False):
                logger.removeHandler(handler)


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
