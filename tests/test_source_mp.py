"""The live MP source, offline: mp-api's real client against recorded wire responses.

The HTTP layer (``requests.adapters.HTTPAdapter.send``, which every request of mp-api and
of our probe goes through) is replaced by a router that answers from
``tests/data/mp_responses`` (see its README: reconstructed in mp-api's wire format from
bundled MP data, not captured live). Everything above it is real: MPRester, its resters,
paging, JSON decoding, entry deserialisation, our retries and conversion.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests.adapters import HTTPAdapter

from superionic.screening.bundled_entries import BundledEntries
from superionic.screening.window_lookup import find_stability_window
from superionic.settings import get_settings
from superionic.sources.base import SourceError
from superionic.sources.mp import MPClientOptions, MPEntrySource, fetch_mp_corpus
from superionic.sources.mp_client import classify, describe_failure

RESPONSES = Path(__file__).parent / "data" / "mp_responses"
KEY = "0123456789abcdef0123456789abcdef"  # 32 characters, like a real MP key
ENDPOINT = "https://mp-replay.invalid/"
FIXTURE_VERSION = json.loads((RESPONSES / "heartbeat.json").read_text())["db_version"]


class Wire:
    """Answers requests from the recorded files; records what was asked."""

    def __init__(self):
        self.calls: list[tuple[str, dict[str, str]]] = []
        self.scripted: dict[tuple[str, str | None], list] = {}  # (path, page) -> queue
        self.fail_all: Exception | None = None

    def route(self, path: str, query: dict[str, str]) -> str | None:
        if path == "/heartbeat":
            return "heartbeat.json"
        if path == "/materials/summary/":
            page = query.get("_page")
            return f"summary_page{page}.json" if page else "summary_count.json"
        if path == "/materials/thermo/" and query.get("thermo_types") == "GGA_GGA+U":
            systems = set(query.get("chemsys", "").split(","))
            return "thermo_Li-O.json" if systems <= {"Li", "O", "Li-O"} else None
        return None

    def send(self, adapter, request, **kwargs):
        url = urlsplit(request.url)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.calls.append((url.path, query))
        if self.fail_all is not None:
            raise self.fail_all
        queue = self.scripted.get((url.path, query.get("_page")))
        if queue:
            status, body = queue.pop(0)
        else:
            name = self.route(url.path, query)
            status, body = (200, (RESPONSES / name).read_bytes()) if name else (
                404, b'{"detail": "Not Found"}')
        response = requests.Response()
        response.status_code, response._content = status, body
        response.url, response.request = request.url, request
        response.headers["Content-Type"] = "application/json"
        return response

    def paths(self, path: str) -> list[dict[str, str]]:
        return [q for p, q in self.calls if p == path]


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No key in the environment, no user config, data dir in tmp, fresh mp-api caches."""
    for name in ("MP_API_KEY", "SUPERIONIC_MP_API_KEY", "MP_API_ENDPOINT", "PMG_MAPI_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SUPERIONIC_CONFIG_FILE", str(tmp_path / "absent.yaml"))
    monkeypatch.setenv("SUPERIONIC_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    try:
        from mp_api.client import MPRester
        from mp_api.client.core.client import _Rester

        _Rester._get_heartbeat_info.cache_clear()
        MPRester.get_emmet_version.cache_clear()
    except ImportError:  # pragma: no cover
        pass
    yield tmp_path
    get_settings.cache_clear()


@pytest.fixture
def wire(isolated, monkeypatch):
    replay = Wire()
    monkeypatch.setattr(HTTPAdapter, "send", lambda self, request, **kw: replay.send(
        self, request, **kw))
    return replay


def options(**kwargs) -> MPClientOptions:
    return MPClientOptions(endpoint=ENDPOINT, **{"backoff_s": 0.0, **kwargs})


def test_corpus_pages_across_two_pages(wire, capsys):
    result = fetch_mp_corpus(KEY, chunk_size=3, progress=True, options=options())
    captured = capsys.readouterr()
    assert "Li materials" in captured.err and captured.out == ""  # bar on stderr only

    pages = wire.paths("/materials/summary/")
    paged = [q for q in pages if "_page" in q]
    assert [q["_page"] for q in paged] == ["1", "2"]
    assert all(q["_per_page"] == "3" for q in paged)
    assert all(q["elements"] == "Li" and q["deprecated"] == "False"
               and q["batch_id_not_eq"] == "gnome_r2scan_statics" for q in pages)
    assert set(paged[0]["_fields"].split(",")) >= {
        "material_id", "structure", "band_gap", "energy_above_hull", "formation_energy_per_atom"}
    by_id = {d.material_id: d for d in result.materials}
    assert sorted(by_id) == ["mp-13725", "mp-1960", "mp-27687", "mp-841"]
    li3po4 = by_id["mp-13725"]
    assert li3po4.formula == "Li3PO4" and li3po4.nsites == 16 and li3po4.source == "mp"
    assert li3po4.band_gap_ev == pytest.approx(5.8181)
    assert li3po4.energy_above_hull_ev == 0.0
    assert li3po4.formation_energy_ev == pytest.approx(-2.753226, abs=1e-6)
    assert all(d.database_version == FIXTURE_VERSION for d in result.materials)
    assert FIXTURE_VERSION in li3po4.provenance and li3po4.warnings == []


def test_nan_band_gap_becomes_none_with_warning(wire):
    result = fetch_mp_corpus(KEY, chunk_size=3, progress=False, options=options())
    li2o2 = next(d for d in result.materials if d.material_id == "mp-841")
    assert li2o2.band_gap_ev is None
    assert li2o2.energy_above_hull_ev == 0.0
    assert any("band gap" in w and "unknown" in w for w in li2o2.warnings)


def test_record_without_li_is_skipped_with_reason(wire):
    result = fetch_mp_corpus(KEY, chunk_size=3, progress=False, options=options())
    assert [(i.record, i.reason) for i in result.issues] == [
        ("mp-2452 (P2O5)", "P2O5 contains no Li")]


def test_max_materials_stops_after_one_page(wire):
    result = fetch_mp_corpus(KEY, chunk_size=1000, max_materials=2, progress=False,
                             options=options())
    paged = [q for q in wire.paths("/materials/summary/") if "_page" in q]
    assert len(paged) == 1 and paged[0]["_per_page"] == "2"
    assert [d.material_id for d in result.materials] == ["mp-13725", "mp-1960"]


def test_transient_error_is_retried(wire):
    wire.scripted[("/materials/summary/", "2")] = [(502, b'{"detail": "Bad Gateway"}')]
    result = fetch_mp_corpus(KEY, chunk_size=3, progress=False, options=options())
    assert [q["_page"] for q in wire.paths("/materials/summary/") if "_page" in q] == [
        "1", "2", "2"]
    assert len(result.materials) == 4


def test_rejected_key_is_a_source_error_without_retries(wire):
    wire.scripted[("/materials/summary/", None)] = [(401, b'{"detail": "Invalid API key"}')]
    with pytest.raises(SourceError, match="rejected the API key") as info:
        fetch_mp_corpus(KEY, progress=False, options=options())
    assert "MP_API_KEY" in str(info.value)
    assert len(wire.paths("/materials/summary/")) == 1


def test_missing_key_says_how_to_set_it(wire):
    with pytest.raises(SourceError) as info:
        fetch_mp_corpus(progress=False, options=options())
    message = str(info.value)
    assert "MP_API_KEY" in message and "--source snapshot" in message
    assert wire.calls == []  # fails before any request


def test_key_from_environment_is_used(wire, monkeypatch):
    monkeypatch.setenv("MP_API_KEY", KEY)
    get_settings.cache_clear()
    result = fetch_mp_corpus(chunk_size=3, progress=False, options=options())
    assert len(result.materials) == 4


def test_short_key_is_rejected_before_any_request(wire):
    with pytest.raises(SourceError, match="32"):
        fetch_mp_corpus("legacy-key", progress=False, options=options())
    assert wire.calls == []


@pytest.mark.timeout(20)
def test_unreachable_service_fails_with_readable_error(wire):
    wire.fail_all = requests.exceptions.ConnectionError(
        "HTTPSConnectionPool(host='api.materialsproject.org', port=443): Max retries exceeded "
        "with url: /heartbeat (Caused by NameResolutionError(\"Failed to resolve "
        "'api.materialsproject.org' ([Errno -2] Name or service not known)\"))")
    with pytest.raises(SourceError) as info:
        fetch_mp_corpus(KEY, progress=False, options=options())
    message = str(info.value)
    assert "unreachable" in message and "cannot resolve the host name" in message
    assert "--source snapshot" in message and "Traceback" not in message
    assert [p for p, _ in wire.calls] == ["/heartbeat", "/heartbeat"]  # probe + 1 retry


@pytest.mark.timeout(30)
def test_silent_server_is_bounded_by_timeouts(isolated):
    """A real socket that accepts but never answers: the probe gives up on its own."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)  # the kernel completes handshakes; nobody ever answers
        port = server.getsockname()[1]
        opts = MPClientOptions(endpoint=f"http://127.0.0.1:{port}/", connect_timeout_s=0.5,
                               read_timeout_s=0.5, backoff_s=0.0)
        with pytest.raises(SourceError, match="no answer within the read timeout"):
            fetch_mp_corpus(KEY, progress=False, options=opts)


@pytest.mark.timeout(30)
def test_dropped_packets_are_bounded_by_connect_timeout(isolated):
    """A full accept queue makes the kernel drop SYNs, as a firewall that drops packets."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        fillers = []
        for _ in range(5):
            filler = socket.socket()
            filler.settimeout(0.3)
            try:
                filler.connect(("127.0.0.1", port))
            except OSError:
                filler.close()
                break
            fillers.append(filler)
        else:
            pytest.skip("this kernel does not drop connections to a full accept queue")
        opts = MPClientOptions(endpoint=f"http://127.0.0.1:{port}/", connect_timeout_s=0.5,
                               backoff_s=0.0)
        try:
            with pytest.raises(SourceError, match="no connection within the connect timeout"):
                fetch_mp_corpus(KEY, progress=False, options=opts)
        finally:
            for filler in fillers:
                filler.close()


@pytest.mark.timeout(30)
def test_closed_port_is_connection_refused(isolated):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the with-block ends
    opts = MPClientOptions(endpoint=f"http://127.0.0.1:{port}/", backoff_s=0.0)
    with pytest.raises(SourceError, match="connection refused"):
        fetch_mp_corpus(KEY, progress=False, options=opts)


def test_failure_classification():
    assert classify(requests.exceptions.ReadTimeout("x")) == "transient"
    assert classify(RuntimeError("REST query returned with error status code 503 on URL")) == (
        "transient")
    assert classify(RuntimeError("REST query returned with error status code 403 on URL")) == (
        "auth")
    assert classify(RuntimeError("REST query returned with error status code 422 on URL")) == (
        "fatal")
    assert describe_failure(RuntimeError(
        "REST query returned with error status code 422 on URL u with message:\nbad field")) == (
        "HTTP 422: bad field")


def test_entry_source_serves_one_version_with_mp2020(wire, isolated):
    source = MPEntrySource(KEY, options=options(), cache_dir=isolated / "cache")
    entries = source.get_entries_in_chemsys(["Li", "O"])
    thermo = wire.paths("/materials/thermo/")
    assert len(thermo) == 1 and set(thermo[0]["chemsys"].split(",")) == {"Li", "O", "Li-O"}
    assert len(entries) == 48 and source.database_version == FIXTURE_VERSION
    assert {e.data["database_version"] for e in entries} == {FIXTURE_VERSION}
    assert all(isinstance(e.entry_id, str) and e.entry_id.endswith("-GGA") for e in entries)
    li2o = [e for e in entries if e.composition.reduced_formula == "Li2O"]
    assert li2o and all(
        any("MP2020 anion correction (oxide)" in a.name for a in e.energy_adjustments)
        for e in li2o)

    # a subsystem comes from memory, a second source from the disk cache
    assert {e.composition.reduced_formula for e in source.get_entries_in_chemsys("Li")} == {"Li"}
    assert len(wire.paths("/materials/thermo/")) == 1
    again = MPEntrySource(KEY, options=options(), cache_dir=isolated / "cache")
    assert len(again.get_entries_in_chemsys("Li-O")) == 48
    assert len(wire.paths("/materials/thermo/")) == 1


def test_entry_source_feeds_the_stability_window(wire, isolated):
    live = find_stability_window("Li2O", MPEntrySource(KEY, options=options(),
                                                       cache_dir=isolated / "cache"))
    bundled = find_stability_window("Li2O", BundledEntries(sets=["mp_legacy_fe_li_o_p"]))
    assert live.status == "computed", live.reasons
    assert live.window.oxidation_limit_v == pytest.approx(2.9, abs=0.05)
    # the fixture holds the same (legacy) entries as the bundled set: same answer
    assert live.window.oxidation_limit_v == pytest.approx(bundled.window.oxidation_limit_v,
                                                          abs=1e-6)
    # the energy set names the live MP, its database version and the MP2020 scheme
    from superionic.screening.conventions import energy_set_label, seed_voltage_v

    assert live.window.entry_source == f"mp-api {FIXTURE_VERSION} GGA_GGA+U"
    assert "MP2020 corrections" in energy_set_label(live.window)
    assert seed_voltage_v(live.window) - live.window.oxidation_limit_v == pytest.approx(1.909, abs=0.01)


@pytest.mark.timeout(20)
def test_unreachable_entry_source_is_recorded_and_not_retried(wire, isolated):
    wire.fail_all = requests.exceptions.ConnectionError("Failed to resolve 'mp-replay.invalid'")
    source = MPEntrySource(KEY, options=options(), cache_dir=isolated / "cache")
    first = find_stability_window("Li3PS4", source)
    second = find_stability_window("Li2S", source)
    assert first.status in {"published", "unknown"} and second.status in {"published", "unknown"}
    assert any("unreachable" in r for r in first.reasons)
    assert len(wire.calls) == 2  # one probe (+1 retry) for both lookups
