"""No secret in any message or log: the one redaction helper and the places that use it."""

from __future__ import annotations

import logging

import pytest

from superionic.redaction import RedactingFilter, redact

SECRET = "s3cr3t-Pa55"


@pytest.mark.parametrize(
    "text",
    [
        f"mongodb://admin:{SECRET}@db.example.org:27017/superionic",
        f"mongodb+srv://admin:{SECRET}@cluster0.example.net/x?retryWrites=true",
        f"Cannot reach mongodb://u:{SECRET}@h:1/db: ServerSelectionTimeoutError",
        f"{{'host': 'h', 'username': 'u', 'password': '{SECRET}'}}",
        f"password: {SECRET}",
        f"mongodb://h/db?authSource=admin&password={SECRET}&tls=true",
        f"api_key={SECRET}",
    ],
)
def test_redact_removes_the_secret_and_keeps_the_rest(text):
    out = redact(text)
    assert SECRET not in out
    assert "***" in out
    assert out.split("***")[0] in text  # what comes before the secret is unchanged


def test_redact_leaves_plain_text_and_placeholders_alone():
    for text in ("monty:///home/me/store", "mongodb://localhost:27017/superionic",
                 "mongodb://user@host/db", "export MP_API_KEY=<your key>", "pass api_key=..."):
        assert redact(text) == text


def test_redact_hides_the_mp_key_from_the_environment(monkeypatch):
    monkeypatch.setenv("MP_API_KEY", "abcdefghijklmnopqrstuvwxyz012345")
    assert redact("request failed for key abcdefghijklmnopqrstuvwxyz012345 (401)") == "request failed for key *** (401)"


def test_store_and_engine_errors_never_carry_a_password(tmp_path):
    from superionic.engines.base import EngineError, check_mongodb
    from superionic.stores import StoreSpecError, open_stores

    spec_file = tmp_path / "prod.yaml"
    spec_file.write_text(f"spec: mongodb://me:{SECRET}@127.0.0.1:1/superionic\n")
    with pytest.raises(StoreSpecError) as store_error:
        open_stores(str(spec_file))  # port 1: refused at once
    assert SECRET not in str(store_error.value) and "me:***@127.0.0.1:1" in str(store_error.value)
    with pytest.raises(EngineError) as engine_error:
        check_mongodb(f"mongodb://me:{SECRET}@127.0.0.1:1/x", "the test")
    assert SECRET not in str(engine_error.value)


def test_cli_error_and_log_records_are_redacted(tmp_path):
    from typer.testing import CliRunner

    from superionic.cli import app

    result = CliRunner().invoke(app, ["query", "--store", f"mongodb://me:{SECRET}@127.0.0.1:1/superionic"])
    assert result.exit_code != 0
    assert SECRET not in result.output and "***" in result.output

    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "connect to %s failed", (f"mongodb://a:{SECRET}@h/db",), None)
    RedactingFilter().filter(record)
    assert SECRET not in record.getMessage()


def test_installed_redaction_covers_handlers_added_later_and_tracebacks():
    """jobflow adds its own handler per run: records reach it redacted, tracebacks too."""
    import io

    from superionic.redaction import install_log_redaction

    before = logging.getLogRecordFactory()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("jobflow.test_redaction")
    try:
        install_log_redaction()
        wrapped = logging.getLogRecordFactory()
        install_log_redaction()  # idempotent: one wrapper, not two
        assert logging.getLogRecordFactory() is wrapped
        logger.addHandler(handler)  # added after the install, like jobflow's
        try:
            raise RuntimeError(f"cannot reach mongodb://me:{SECRET}@h:1/db")
        except RuntimeError:
            logger.exception("job failed with store %s", f"mongodb://me:{SECRET}@h:1/db")
    finally:
        logger.removeHandler(handler)
        logging.setLogRecordFactory(before)
    text = stream.getvalue()
    assert "job failed with store mongodb://me:***@h:1/db" in text
    assert "RuntimeError: cannot reach mongodb://me:***@h:1/db" in text
    assert SECRET not in text
