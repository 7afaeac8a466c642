"""How long the live MP source takes to give up when it cannot work, with default options.

    .venv/bin/python benchmarks/mp_offline_failure.py

Prints one row per situation: the wall time from the call to the SourceError and the
first words of the message. "dropped packets" is a local socket whose accept queue is
full, so the kernel drops connection attempts, as a firewall that drops packets does.
The DNS row needs a machine without network (on one with network it reads MP instead).
"""

from __future__ import annotations

import os
import socket
import time
from contextlib import contextmanager

from superionic.settings import get_settings
from superionic.sources.base import SourceError
from superionic.sources.mp import MPClientOptions, MPEntrySource, fetch_mp_corpus
from superionic.screening.window_lookup import find_stability_window

KEY = "0123456789abcdef0123456789abcdef"


@contextmanager
def dropping_endpoint():
    server = socket.socket()
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
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        for filler in fillers:
            filler.close()
        server.close()


def timed(call) -> tuple[float, str]:
    start = time.perf_counter()
    try:
        call()
    except SourceError as exc:
        return time.perf_counter() - start, str(exc)[:90]
    return time.perf_counter() - start, "(no error)"


def main() -> None:
    rows = []
    os.environ.pop("MP_API_KEY", None)
    os.environ.pop("SUPERIONIC_MP_API_KEY", None)
    get_settings.cache_clear()
    rows.append(("no API key", *timed(lambda: fetch_mp_corpus(progress=False))))
    rows.append(("no DNS / no network (api.materialsproject.org)",
                 *timed(lambda: fetch_mp_corpus(KEY, progress=False))))
    with dropping_endpoint() as endpoint:
        opts = MPClientOptions(endpoint=endpoint)
        rows.append(("dropped packets (defaults: 5 s connect, 1 retry)",
                     *timed(lambda: fetch_mp_corpus(KEY, progress=False, options=opts))))
    source = MPEntrySource(KEY)
    for label in ("entry source, 1st lookup (no network)", "entry source, 2nd lookup"):
        start = time.perf_counter()
        lookup = find_stability_window("Li3PS4", source)
        rows.append((label, time.perf_counter() - start, f"status={lookup.status}"))
    width = max(len(r[0]) for r in rows)
    print(f"{'situation':<{width}}  seconds  message")
    for label, seconds, message in rows:
        print(f"{label:<{width}}  {seconds:7.2f}  {message}")


if __name__ == "__main__":
    main()
