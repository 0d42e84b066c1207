"""One guard for every request: characters no database stores, JSON too big or too deep, and
no shared caching of anything personal. NUL bytes only break PostgreSQL, so run this there too."""

from __future__ import annotations

import io

import pytest

from booking.core.guards import json_depth
from tests.conftest import csrf_token

REFUSED = "contains a character we cannot accept"


def _refused_page(response, field: str) -> None:
    html = response.get_data(as_text=True)
    assert response.status_code == 400, html[:300]
    assert REFUSED in html and f"&#39;{field}&#39;" in html


@pytest.mark.parametrize("path", ["/clinics/a%00b", "/treatments/%00", "/conditions/x%00",
                                  "/admin/audit%00"])
def test_nul_in_a_path_segment_is_a_friendly_400(client, demo, path):
    _refused_page(client.get(path), "address")


def test_nul_in_a_query_argument_is_refused_naming_it(as_role):
    _refused_page(as_role("admin").get("/admin/audit?action=a%00b"), "action")
    _refused_page(as_role("anonymous").get("/?q=%00"), "q")


def test_nul_in_a_urlencoded_form_is_refused_before_the_database(client, demo):
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": "a\x00@example.com", "password": "x",
                                           "csrf_token": token})
    _refused_page(response, "email")


def test_nul_in_a_form_field_name_is_refused(client, demo):
    token = csrf_token(client, "/login")
    _refused_page(client.post("/login", data={"csrf_token": token, "e\x00": "1"}), "e\\x00")


def test_nul_in_multipart_fields_and_file_names_is_refused(as_role):
    admin = as_role("admin")
    token = csrf_token(admin, "/admin/holidays")
    response = admin.post("/admin/holidays", content_type="multipart/form-data",
                          data={"csrf_token": token, "day": "2031-05-01", "name": "May\x00Day"})
    _refused_page(response, "name")
    upload = admin.post("/admin/holidays", content_type="multipart/form-data",
                        data={"csrf_token": token,
                              "file": (io.BytesIO(b"\x00 contents are not checked"), "a\x00.pdf")})
    _refused_page(upload, "file")


def test_nul_in_uploaded_file_contents_is_not_the_guards_business(as_role):
    admin = as_role("admin")
    token = csrf_token(admin, "/admin/holidays")
    response = admin.post("/admin/holidays", content_type="multipart/form-data",
                          data={"csrf_token": token, "day": "2031-05-01", "name": "Labour Day",
                                "file": (io.BytesIO(b"\x00\x00"), "scan.pdf")})
    assert response.status_code == 302


@pytest.mark.parametrize("body", ['{"consultation_type_id": "a\\u0000b"}',
                                  '{"a": [{"b": ["ok", "x\\u0000"]}]}',
                                  '{"k\\u0000ey": 1}',
                                  '{"a": "\\ud800"}'])
def test_nul_or_lone_surrogate_anywhere_in_json_is_a_json_400(client, body):
    response = client.post("/api/v1/bookings", data=body, content_type="application/json")
    assert response.status_code == 400 and response.is_json
    error = response.get_json()["error"]
    assert error["code"] == "invalid_character" and REFUSED in error["message"]


def test_json_error_names_the_nested_field(client):
    response = client.post("/api/v1/bookings", json={"patient": {"notes": ["fine", "b\x00d"]}})
    assert "'patient.notes[1]'" in response.get_json()["error"]["message"]


@pytest.mark.parametrize("depth", [33, 1_000, 30_000])
def test_deeply_nested_json_is_a_400_not_a_recursion_error(client, depth):
    response = client.post("/api/v1/bookings", data="[" * depth + "]" * depth,
                           content_type="application/json")
    assert response.status_code == 400 and response.is_json
    assert response.get_json()["error"]["code"] == "json_too_deep"


def test_unbalanced_brackets_are_refused_too(client):
    response = client.post("/api/v1/bookings", data="[" * 100_000,
                           content_type="application/json")
    assert response.status_code in (400, 413) and response.is_json


def test_json_at_the_depth_limit_still_reaches_the_view(client):
    response = client.post("/api/v1/bookings", data="[" * 32 + "]" * 32,
                           content_type="application/json")
    # The view answers (not signed in / not an object); the guard let it through.
    assert response.status_code in (400, 401) and response.get_json()["error"]["code"] not in (
        "json_too_deep", "invalid_character")


def test_json_larger_than_the_cap_is_413_before_parsing(client, app):
    cap = app.config["JSON_MAX_BYTES"]
    response = client.post("/api/v1/bookings", data='{"a": "' + "x" * cap + '"}',
                           content_type="application/json")
    assert response.status_code == 413 and response.is_json
    assert response.get_json()["error"]["code"] == "payload_too_large"


def test_the_app_json_provider_turns_recursion_into_a_value_error(app):
    with pytest.raises(ValueError):
        app.json.loads("[" * 200_000 + "]" * 200_000)


def test_json_depth_ignores_brackets_inside_strings():
    assert json_depth('{"a": "[[[[[[\\"[[["}') == 1
    assert json_depth("[[{}]]") == 3


def test_signed_in_pages_and_api_answers_are_not_stored(as_role, client):
    patient = as_role("patient")
    assert patient.get("/bookings").headers["Cache-Control"] == "no-store"
    assert patient.get("/").headers["Cache-Control"] == "no-store"
    assert as_role("admin").get("/admin/").headers["Cache-Control"] == "no-store"
    assert client.get("/api/v1/clinics").headers["Cache-Control"] == "no-store"
    refused = client.post("/api/v1/bookings", json={"a": "\x00"})
    assert refused.headers["Cache-Control"] == "no-store"


def test_public_pages_and_static_files_keep_their_caching(client, as_role, app):
    assert "no-store" not in client.get("/").headers.get("Cache-Control", "")
    assert "no-store" not in client.get("/clinics").headers.get("Cache-Control", "")
    from pathlib import Path

    static = min(Path(app.static_folder).rglob("*.css"))
    url = "/static/" + static.relative_to(app.static_folder).as_posix()
    assert "no-store" not in as_role("patient").get(url).headers.get("Cache-Control", "")


def test_a_clean_request_passes_the_guard(client, demo):
    assert client.get("/clinics/sukhumvit-spine?q=ok").status_code == 200
