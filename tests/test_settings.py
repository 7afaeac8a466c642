"""Settings: SUPERIONIC_ environment variables, ~/.superionic.yaml, MP_API_KEY."""

from __future__ import annotations

import pytest

from superionic.settings import SuperionicSettings


def test_defaults_and_store_spec(isolated_settings):
    s = SuperionicSettings()
    assert s.screening.min_band_gap_ev == 1.0 and s.screening.min_oxidation_voltage_v == 3.7
    assert s.store_spec == f"monty://{isolated_settings / 'store'}"


def test_environment_and_nested_thresholds(monkeypatch):
    monkeypatch.setenv("SUPERIONIC_STORE", "memory://")
    monkeypatch.setenv("SUPERIONIC_SCREENING__MIN_BAND_GAP_EV", "2.5")
    monkeypatch.setenv("MP_API_KEY", "k" * 32)
    s = SuperionicSettings()
    assert s.store_spec == "memory://"
    assert s.screening.min_band_gap_ev == 2.5
    assert s.mp_api_key == "k" * 32


def test_yaml_file_below_environment(tmp_path, monkeypatch):
    config = tmp_path / "superionic.yaml"
    config.write_text("store: mongodb://db/sx\nscreening:\n  min_oxidation_voltage_v: 4.0\nn_jobs: 2\n")
    monkeypatch.setenv("SUPERIONIC_CONFIG_FILE", str(config))
    s = SuperionicSettings()
    assert (s.store, s.screening.min_oxidation_voltage_v, s.n_jobs) == ("mongodb://db/sx", 4.0, 2)
    monkeypatch.setenv("SUPERIONIC_N_JOBS", "1")
    assert SuperionicSettings().n_jobs == 1


def test_bad_yaml_file_is_named(tmp_path, monkeypatch):
    config = tmp_path / "bad.yaml"
    config.write_text("store: [unclosed\n")
    monkeypatch.setenv("SUPERIONIC_CONFIG_FILE", str(config))
    with pytest.raises(ValueError, match="bad.yaml"):
        SuperionicSettings()
