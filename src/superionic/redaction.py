"""One helper that keeps secrets out of messages and logs: :func:`redact`.

Every message that may quote a store spec, a MongoDB URI, an engine configuration or an
exception from pymongo goes through :func:`redact` (store errors, engine errors, the failure
log of ``superionic run``, the report). It removes

- the password of any ``scheme://user:password@host`` URI (``mongodb://``, ``mongodb+srv://``,
  ``redis://``, ``https://`` ...): ``scheme://user:***@host``;
- ``password=...``, ``pwd=...``, ``api_key=...``, ``token=...``, ``secret=...`` pairs (query
  strings, ``key=value`` and ``key: value`` text, quoted dict reprs); placeholders such as
  ``<your key>`` or ``...`` in help texts are left alone;
- the values of the environment variables that hold keys (``MP_API_KEY``,
  ``SUPERIONIC_MP_API_KEY``) wherever they appear verbatim.

Nothing here imports anything heavy: it sits at the bottom of the package.
"""

from __future__ import annotations

import logging
import os
import re

MASK = "***"

SECRET_ENV_VARS = ("MP_API_KEY", "SUPERIONIC_MP_API_KEY", "PMG_MAPI_KEY")
"""Environment variables whose values never appear in a message."""

_URI_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s'\"]*):(?P<secret>[^@/\s'\"]*)@")
_KEY_VALUE = re.compile(
    r"(?P<head>(?P<q>['\"]?)(?:password|passwd|pwd|api_key|apikey|mp_api_key|token|secret)(?P=q)"
    r"\s*[=:]\s*)(?P<vq>['\"]?)(?P<secret>(?!<|\.\.\.|\*\*\*)[^'\"\s&,;}`]+)(?P=vq)",
    re.IGNORECASE,
)


def redact(text: object) -> str:
    """``text`` (any object, as ``str``) with passwords, keys and tokens replaced by ``***``."""
    out = str(text)
    out = _URI_PASSWORD.sub(lambda m: f"{m['head']}:{MASK}@", out)
    out = _KEY_VALUE.sub(lambda m: f"{m['head']}{m['vq']}{MASK}{m['vq']}", out)
    for name in SECRET_ENV_VARS:
        value = os.environ.get(name)
        if value and len(value) >= 6:
            out = out.replace(value, MASK)
    return out


class RedactingFilter(logging.Filter):
    """A logging filter that redacts each record's final message (attach to handlers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = redact(message), None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def install_log_redaction() -> None:
    """Redact every log record of this process as it is made (idempotent).

    A filter on a handler only guards that handler; jobflow's ``run_locally`` adds its own
    stream handler each run, and a failing job's traceback can quote a store URI. Wrapping the
    log-record factory redacts the message and the traceback of every record, whichever
    handler prints it.
    """
    factory = logging.getLogRecordFactory()
    if getattr(factory, "superionic_redacting", False):
        return
    redactor = RedactingFilter()

    def redacting_factory(*args, **kwargs) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        try:
            redactor.filter(record)
        except Exception:  # a malformed record is the handler's to report, as before
            pass
        return record

    redacting_factory.superionic_redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(redacting_factory)
