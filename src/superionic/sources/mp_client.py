"""A connection to the Materials Project API that fails fast and says why.

mp-api's ``MPRester`` reads its heartbeat with a plain ``requests.get`` and no timeout
(twice, while it is being constructed) and needs ~10 s to import. Without network that
can hang for minutes behind a firewall that drops packets. So ``MPClient.connect``:

1. resolves the API key (argument, else settings / ``MP_API_KEY``) -> ``SourceError`` with
   the way to set it when there is none;
2. probes ``<endpoint>heartbeat`` itself with bounded connect/read timeouts and a short
   retry -> ``SourceError`` "unreachable" in about a second when DNS or the route is
   missing (``connect_timeout_s`` per try when packets are dropped);
3. only then imports mp-api and builds the ``MPRester`` (under a deadline).

Every later request goes through ``MPClient.call``: transient failures (connection errors,
timeouts, HTTP 429/5xx) are retried with exponential backoff, a rejected key or a bad
query becomes a ``SourceError`` at once.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any, TypeVar

import requests
from pydantic import BaseModel, ConfigDict, Field

from superionic.sources.base import SourceError

T = TypeVar("T")

DEFAULT_ENDPOINT = "https://api.materialsproject.org/"
OFFLINE_HINT = (
    "To work without network or key, use the bundled offline corpus: `--source snapshot`."
)
KEY_HINT = (
    "Get a key at https://next-gen.materialsproject.org/api and set it with "
    "`export MP_API_KEY=<your key>` (or SUPERIONIC_MP_API_KEY, or `mp_api_key: <key>` in "
    "~/.superionic.yaml), or pass api_key=..."
)
_STATUS = re.compile(r"status code (\d{3})")
_TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}
_AUTH_STATUS = {401, 403}
_CONNECTION_WORDS = re.compile(
    r"Max retries exceeded|timed out|Timeout|Connection ?(Error|aborted|refused|reset)|"
    r"NameResolution|Failed to resolve|RemoteDisconnected|ProtocolError",
    re.IGNORECASE,
)


class MPClientOptions(BaseModel):
    """How to reach the Materials Project and how patient to be."""

    model_config = ConfigDict(extra="forbid")

    endpoint: str | None = Field(
        None, description="API root; default MP_API_ENDPOINT or https://api.materialsproject.org/."
    )
    connect_timeout_s: float = Field(5.0, description="Seconds to wait for a TCP connection.")
    read_timeout_s: float = Field(20.0, description="Seconds to wait for a response.")
    retries: int = Field(3, ge=0, description="Retries of a request after a transient failure.")
    backoff_s: float = Field(
        1.0, ge=0, description="First retry delay; doubled on each retry (capped at 60 s)."
    )
    probe_retries: int = Field(
        1, ge=0, description="Retries of the initial heartbeat probe (kept small: fail fast)."
    )

    def resolved_endpoint(self) -> str:
        endpoint = self.endpoint or os.environ.get("MP_API_ENDPOINT") or DEFAULT_ENDPOINT
        return endpoint if endpoint.endswith("/") else endpoint + "/"

    def delay(self, attempt: int) -> float:
        return min(self.backoff_s * 2**attempt, 60.0)


def resolve_api_key(api_key: str | None = None) -> str:
    """The key from the argument, else the settings (``MP_API_KEY``); SourceError if none."""
    key = (api_key or "").strip()
    if not key:
        from superionic.settings import get_settings

        key = (get_settings().mp_api_key or "").strip()
    if not key:
        raise SourceError(f"No Materials Project API key. {KEY_HINT} {OFFLINE_HINT}")
    if len(key) != 32:
        raise SourceError(
            f"The Materials Project API key has {len(key)} characters; current MP keys "
            f"have 32 (legacy keys no longer work). {KEY_HINT}"
        )
    return key


def describe_failure(exc: BaseException) -> str:
    """A short human reason for a network failure (no traceback, no URL soup)."""
    text = f"{type(exc).__name__}: {exc}"
    if re.search(r"Failed to resolve|Name or service not known|NameResolution|getaddrinfo",
                 text):
        return "cannot resolve the host name (no DNS or no network)"
    if re.search(r"Connection refused|ConnectionRefused", text):
        return "connection refused"
    if isinstance(exc, requests.exceptions.ConnectTimeout) or "ConnectTimeout" in text:
        return "no connection within the connect timeout"
    if isinstance(exc, requests.exceptions.ReadTimeout) or "Read timed out" in text:
        return "connected, but no answer within the read timeout"
    if re.search(r"Network is unreachable|No route to host", text):
        return "network is unreachable"
    if match := _STATUS.search(text):
        detail = text.split("with message:", 1)[1].strip() if "with message:" in text else ""
        return f"HTTP {match.group(1)}" + (f": {detail[:200]}" if detail else "")
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return first[:300]


def classify(exc: BaseException) -> str:
    """'auth', 'transient' or 'fatal' for an exception raised by requests or mp-api."""
    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
        return "transient"
    match = _STATUS.search(str(exc))
    if match:
        status = int(match.group(1))
        if status in _AUTH_STATUS:
            return "auth"
        return "transient" if status in _TRANSIENT_STATUS else "fatal"
    if isinstance(exc, requests.exceptions.RequestException) or _CONNECTION_WORDS.search(
        str(exc)
    ):
        return "transient"
    return "fatal"


def probe(options: MPClientOptions, sleep: Callable[[float], None] = time.sleep) -> dict:
    """GET ``<endpoint>heartbeat`` with bounded timeouts; its JSON, or SourceError."""
    url = options.resolved_endpoint() + "heartbeat"
    timeout = (options.connect_timeout_s, options.read_timeout_s)
    last = "no attempt made"
    for attempt in range(options.probe_retries + 1):
        if attempt:
            sleep(options.delay(attempt - 1))
        try:
            response = requests.get(url, timeout=timeout)
        except requests.exceptions.RequestException as exc:
            last = describe_failure(exc)
            continue
        if response.status_code == 200:
            try:
                return response.json()
            except ValueError:
                last = "the heartbeat answer is not JSON (a proxy or captive portal?)"
                continue
        if response.status_code == 403:  # mp-api, too, goes on without a heartbeat
            return {}
        last = f"HTTP {response.status_code}"
        if response.status_code not in _TRANSIENT_STATUS:
            raise SourceError(
                f"{url} answered HTTP {response.status_code}: this is not the Materials "
                "Project API (wrong endpoint / MP_API_ENDPOINT, or a proxy in the way). "
                + OFFLINE_HINT
            )
    raise SourceError(
        f"The Materials Project API at {options.resolved_endpoint()} is unreachable: {last}. "
        "Check the network or proxy (HTTPS_PROXY), or try again later. " + OFFLINE_HINT
    )


def _with_deadline(fn: Callable[[], T], seconds: float, what: str) -> T:
    """Run ``fn`` in a daemon thread; SourceError if it is not done within ``seconds``."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed back to the caller below
            box["error"] = exc

    worker = threading.Thread(target=target, name=f"superionic: {what}", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise SourceError(f"{what} did not finish within {seconds:.0f} s. " + OFFLINE_HINT)
    if "error" in box:
        raise box["error"]
    return box["value"]


def mp_api_version() -> str:
    try:
        return version("mp-api")
    except PackageNotFoundError:  # pragma: no cover - mp-api is a dependency
        return "unknown"


class MPClient:
    """An ``MPRester`` reached through the checks above, with retrying calls."""

    def __init__(self, rester: Any, options: MPClientOptions, database_version: str | None,
                 sleep: Callable[[float], None] = time.sleep):
        self.rester = rester
        self.options = options
        self.database_version = database_version
        self.sleep = sleep

    @classmethod
    def connect(cls, api_key: str | None = None, options: MPClientOptions | None = None,
                sleep: Callable[[float], None] = time.sleep) -> MPClient:
        """Key check, heartbeat probe, then the ``MPRester``; SourceError on any failure."""
        options = options or MPClientOptions()
        key = resolve_api_key(api_key)
        heartbeat = probe(options, sleep=sleep)
        try:
            from mp_api.client import MPRester
        except ImportError as exc:  # pragma: no cover - mp-api is a dependency
            raise SourceError(f"mp-api is not installed ({exc}): pip install mp-api") from exc

        def build() -> Any:
            return MPRester(api_key=key, endpoint=options.resolved_endpoint(),
                            mute_progress_bars=True, use_document_model=False)

        deadline = 2 * (options.connect_timeout_s + options.read_timeout_s)
        try:
            rester = _with_deadline(build, deadline, "Connecting to the Materials Project")
        except SourceError:
            raise
        except Exception as exc:
            raise _as_source_error(exc, "Connecting to the Materials Project", options) from exc
        db_version = getattr(rester, "db_version", None) or heartbeat.get("db_version") or None
        return cls(rester, options, db_version, sleep=sleep)

    def call(self, what: str, fn: Callable[[], T]) -> T:
        """``fn()``, retried with backoff on transient failures; SourceError otherwise."""
        for attempt in range(self.options.retries + 1):
            try:
                return fn()
            except SourceError:
                raise
            except Exception as exc:
                if classify(exc) == "transient" and attempt < self.options.retries:
                    self.sleep(self.options.delay(attempt))
                    continue
                raise _as_source_error(exc, what, self.options, attempts=attempt + 1) from exc
        raise AssertionError("unreachable")  # pragma: no cover


def _as_source_error(exc: BaseException, what: str, options: MPClientOptions,
                     attempts: int = 1) -> SourceError:
    kind = classify(exc)
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    if kind == "auth":
        return SourceError(
            f"{what}: the Materials Project rejected the API key "
            f"({describe_failure(exc)}). {KEY_HINT}"
        )
    if kind == "transient":
        return SourceError(
            f"{what} failed{tries}: the Materials Project API at "
            f"{options.resolved_endpoint()} is unreachable or overloaded "
            f"({describe_failure(exc)}). Try again later. " + OFFLINE_HINT
        )
    return SourceError(f"{what} failed: {describe_failure(exc)}")


__all__ = [
    "DEFAULT_ENDPOINT",
    "MPClient",
    "MPClientOptions",
    "classify",
    "describe_failure",
    "mp_api_version",
    "probe",
    "resolve_api_key",
]
