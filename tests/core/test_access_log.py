"""The access log as production writes it: one JSON object a line per request."""

from __future__ import annotations

import io
import json
import logging
from contextlib import contextmanager
from datetime import datetime

import pytest

from booking import create_app
from tests.conftest import make_config


@contextmanager
def logging_into_a_buffer(tmp_path, *, json: bool):  # type: ignore[no-untyped-def]
    """An app logging into a buffer; the process's logging is put back afterwards (building an
    app configures the root logger)."""
    root = logging.getLogger()
    before = root.handlers[:], root.level
    app = create_app(make_config(str(tmp_path), LOG_JSON=json))
    buffer = io.StringIO()
    for handler in root.handlers:
        handler.setStream(buffer)
    try:
        yield app, buffer
    finally:
        root.handlers[:], level = before
        root.setLevel(level)


@pytest.fixture()
def json_logs(tmp_path):
    """JSON lines (LOG_JSON, production's default)."""
    with logging_into_a_buffer(tmp_path, json=True) as logged:
        yield logged


def test_each_request_is_one_json_line_with_its_time_in_utc(json_logs):
    app, buffer = json_logs
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/no-such-page").status_code == 404
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()
             if '"booking.access"' in line]
    assert [(line["path"], line["status"], line["method"]) for line in lines] == [
        ("/healthz", 200, "GET"), ("/no-such-page", 404, "GET")]
    for line in lines:
        assert line["levelname"] == "INFO" and line["message"] == "request"
        assert isinstance(line["ms"], float) and line["ms"] >= 0
        assert datetime.fromisoformat(line["timestamp"]).utcoffset().total_seconds() == 0


@contextmanager
def alone(buffer: io.StringIO):  # type: ignore[no-untyped-def]
    """The root logger as production has it: our JSON handler alone (pytest adds its own
    capturing handlers around each test's call, which sends access lines the standard way)."""
    root = logging.getLogger()
    before = root.handlers[:]
    root.handlers[:] = [handler for handler in before if handler.stream is buffer]
    try:
        yield
    finally:
        root.handlers[:] = before


def _access_lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()
            if '"booking.access"' in line]


def test_the_direct_line_is_the_line_the_standard_way_writes(json_logs):
    """AccessLines writes straight to the handler's stream when nothing else is on the way;
    the line must be the one python-json-logger writes: same keys, same order, same values."""
    app, buffer = json_logs
    client = app.test_client()
    made = []
    factory = logging.getLogRecordFactory()

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        record = factory(*args, **kwargs)
        made.append(record.name)
        return record

    logging.setLogRecordFactory(counting)
    try:
        with alone(buffer):
            assert client.get("/healthz?x=1").status_code == 200
    finally:
        logging.setLogRecordFactory(factory)
    assert "booking.access" not in made  # written directly
    direct = buffer.getvalue()
    assert direct.count("\n") == 1 and direct.endswith("}\n")
    # pytest's capturing handlers on the root logger: the standard way
    assert client.get("/healthz?x=1").status_code == 200
    first, second = _access_lines(buffer)
    assert list(first) == list(second) == ["levelname", "name", "message", "method", "path",
                                           "status", "ms", "timestamp"]
    for line in (first, second):
        line.pop("ms"), line.pop("timestamp")
    assert first == second == {"levelname": "INFO", "name": "booking.access",
                               "message": "request", "method": "GET", "path": "/healthz",
                               "status": 200}


def test_the_access_loggers_level_still_decides(json_logs):
    app, buffer = json_logs
    access = logging.getLogger("booking.access")
    access.setLevel(logging.WARNING)
    try:
        with alone(buffer):
            assert app.test_client().get("/healthz").status_code == 200
            logging.getLogger("booking.other").warning("still written")
    finally:
        access.setLevel(logging.NOTSET)
    assert _access_lines(buffer) == []
    assert "still written" in buffer.getvalue()


def test_a_filter_on_the_way_is_honoured(json_logs):
    app, buffer = json_logs
    access = logging.getLogger("booking.access")

    def no_probes(record: logging.LogRecord) -> bool:
        return getattr(record, "path", "") != "/healthz"

    access.addFilter(no_probes)
    try:
        with alone(buffer):
            client = app.test_client()
            client.get("/healthz")
            client.get("/no-such-page")
    finally:
        access.removeFilter(no_probes)
    assert [line["path"] for line in _access_lines(buffer)] == ["/no-such-page"]


def test_a_failed_write_never_fails_the_request(json_logs, capsys):
    app, buffer = json_logs
    buffer.close()  # every write now raises ValueError
    with alone(buffer):
        assert app.test_client().get("/healthz").status_code == 200
    assert "Logging error" in capsys.readouterr().err  # reported the standard way


def test_development_lines_say_what_was_asked_and_answered(tmp_path):
    with logging_into_a_buffer(tmp_path, json=False) as (app, buffer):
        app.test_client().get("/no-such-page")
    assert "INFO booking.access: GET /no-such-page 404 " in buffer.getvalue()


def test_a_request_refused_before_its_view_is_logged_and_timed(json_logs):
    app, buffer = json_logs
    with alone(buffer):
        assert app.test_client().get("/healthz?q=%00").status_code == 400
    (line,) = _access_lines(buffer)
    assert (line["path"], line["status"]) == ("/healthz", 400)
    assert isinstance(line["ms"], float) and line["ms"] >= 0
