"""The access log as production writes it: one JSON object a line per request."""

from __future__ import annotations

import io
import json
import logging
from datetime import datetime

import pytest

from booking import create_app
from tests.conftest import make_config


@pytest.fixture()
def json_logs(tmp_path):
    """An app logging JSON (LOG_JSON, production's default) into a buffer; the process's
    logging is put back afterwards (building an app configures the root logger)."""
    root = logging.getLogger()
    before = root.handlers[:], root.level
    app = create_app(make_config(str(tmp_path), LOG_JSON=True))
    buffer = io.StringIO()
    for handler in root.handlers:
        handler.setStream(buffer)
    yield app, buffer
    root.handlers[:], level = before
    root.setLevel(level)


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
