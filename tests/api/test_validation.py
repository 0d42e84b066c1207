"""What an outside test found (issue #8): wrong types, dates out of range, huge values and
wrong methods answer a 4xx in the JSON error shape naming the field, never a 500 or an echo."""

from __future__ import annotations

from sqlalchemy import func, select

from booking.extensions import db
from booking.scheduling.models import Booking
from tests.api.helpers import api, assert_error_shape
from tests.scheduling.helpers import ctype_for


def test_a_timezone_that_is_a_list_is_422_naming_timezone(client, tokens, slot):
    response = api(client, "post", "/bookings", tokens["patient"],
                   json={**slot, "timezone": ["UTC"]})
    error = assert_error_shape(response, 422)
    assert error["code"] == "invalid_field"
    assert error["message"] == "'timezone': Not a valid string."
    assert error["fields"] == {"timezone": ["Not a valid string."]}


def test_a_start_outside_2000_to_2100_is_422(client, tokens, slot, app):
    for start in ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "9999-12-31T23:00:00-05:00",
                  "1999-12-31T12:00:00+00:00", "2101-01-01T00:00:00Z"):
        response = api(client, "post", "/bookings", tokens["patient"],
                       json={**slot, "start": start})
        error = assert_error_shape(response, 422)
        assert list(error["fields"]) == ["start"] and "2000-01-01" in error["message"], start
        moved = api(client, "post", "/bookings/1/reschedule", tokens["patient"],
                    json={"start": start})
        assert list(assert_error_shape(moved, 422)["fields"]) == ["start"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Booking)) == 0


def test_availability_dates_outside_the_range_are_422(client, demo, app):
    with app.app_context():
        ctype_id = ctype_for().id
    for value in ("0001-01-01", "9999-12-31", "0001-01-01T00:00:00Z", "2101-01-01"):
        for name in ("from", "to"):
            response = client.get(
                f"/api/v1/availability?consultation_type={ctype_id}&{name}={value}")
            assert list(assert_error_shape(response, 422)["fields"]) == [name], value


def test_a_60_kb_time_zone_is_422_and_not_echoed(client, tokens, slot, app):
    huge = "Europe/" + "x" * 60_000  # under the 64 KiB body cap, far over the field's 64
    for response in (
        api(client, "post", "/bookings", tokens["patient"], json={**slot, "timezone": huge}),
        client.get(f"/api/v1/availability?consultation_type={slot['consultation_type']}"
                   f"&tz={huge}"),
    ):
        error = assert_error_shape(response, 422)
        assert len(response.get_data()) < 1024
        assert "xxxxxxxxxx" not in response.get_data(as_text=True)
        assert set(error["fields"]) <= {"timezone", "tz"}


def test_an_unknown_field_name_is_cut_short_in_the_answer(client, tokens, slot):
    response = api(client, "post", "/bookings", tokens["patient"],
                   json={**slot, "y" * 60_000: 1})
    error = assert_error_shape(response, 422)
    assert len(response.get_data()) < 1024 and error["code"] == "invalid_field"
    assert any(name.startswith("yyyy") and len(name) <= 64 for name in error["fields"])


def test_an_id_that_is_a_boolean_or_not_a_positive_whole_number_is_422(client, tokens, slot):
    for field in ("consultation_type", "doctor"):
        for value in (True, False, "1", 1.5, 0, -3, 2**31, 10**40, None, [1], {}):
            response = api(client, "post", "/bookings", tokens["patient"],
                           json={**slot, field: value})
            error = assert_error_shape(response, 422)
            assert list(error["fields"]) == [field] and f"'{field}'" in error["message"], value
    for query in ("consultation_type=true", "consultation_type=1&doctor=0",
                  f"consultation_type={2**31}", "consultation_type=1e3"):
        assert_error_shape(api(client, "get", f"/availability?{query}"), 422)


def test_unknown_body_fields_are_refused_and_unknown_query_parameters_ignored(
        client, tokens, slot):
    response = api(client, "post", "/bookings", tokens["patient"], json={**slot, "colour": 1})
    assert assert_error_shape(response, 422)["fields"] == {"colour": ["Unknown field."]}
    listed = client.get(f"/api/v1/availability?consultation_type={slot['consultation_type']}"
                        "&colour=blue")
    assert listed.status_code == 200 and listed.json["slots"]


def test_a_body_that_is_not_a_json_object_gets_the_json_error_shape(client, tokens):
    for kwargs in ({"json": [1, 2]}, {"json": 7}, {"json": "text"},
                   {"data": "{not json", "content_type": "application/json"},
                   {"data": {"consultation_type": "1"}}):
        response = api(client, "post", "/bookings", tokens["patient"], **kwargs)
        assert assert_error_shape(response, 400)["code"] == "invalid_request"
    deep = api(client, "post", "/bookings", tokens["patient"],
               data="[" * 30_000 + "]" * 30_000, content_type="application/json")
    assert assert_error_shape(deep, 400)["code"] == "json_too_deep"
    # Over the body cap the answer is 413 in the same shape, before anything is parsed.
    oversize = api(client, "post", "/bookings", tokens["patient"],
                   json={"consultation_type": 1, "note": "z" * 70_000})
    assert assert_error_shape(oversize, 413)["code"] == "payload_too_large"
    assert "zzzz" not in oversize.get_data(as_text=True)
    # No body at all: then it is the missing fields that are named.
    error = assert_error_shape(api(client, "post", "/bookings", tokens["patient"]), 422)
    assert {"consultation_type", "doctor", "start"} <= set(error["fields"])


def test_a_wrong_method_is_405_with_allow_and_the_json_shape(client):
    for method, path, allowed in (
            ("get", "/bookings", "POST"), ("delete", "/bookings/1", "GET"),
            ("put", "/clinics", "GET"), ("post", "/openapi.json", "GET"),
            ("get", "/bookings/1/consents", "POST"), ("patch", "/screenings", "POST")):
        response = api(client, method, path)
        error = assert_error_shape(response, 405)
        assert error["code"] == "method_not_allowed"
        assert allowed in response.headers["Allow"]


def test_an_unknown_api_path_is_a_json_404_and_other_pages_keep_their_html(client, demo):
    assert assert_error_shape(client.get("/api/v1/nothing-here"), 404)["code"] == "not_found"
    assert assert_error_shape(client.get("/api/v1/bookings/0"), 401)  # routes, then sign-in
    page = client.get("/no-such-page")
    assert page.status_code == 404 and page.mimetype == "text/html"
    wrong = client.put("/login")
    assert wrong.status_code == 405 and wrong.mimetype == "text/html"


def test_every_api_answer_says_no_store(client, tokens, slot):
    for response in (client.get("/api/v1/openapi.json"), client.get("/api/v1/clinics"),
                     client.get("/api/v1/availability"), client.get("/api/v1/nope"),
                     api(client, "post", "/bookings", tokens["patient"], json=slot)):
        assert response.headers["Cache-Control"] == "no-store", response.request.path


def test_the_document_is_openapi_with_bounded_ids_and_both_security_schemes(client):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.1")
    assert set(doc["components"]["securitySchemes"]) == {"bearer", "session"}
    param = doc["paths"]["/api/v1/bookings/{booking_id}"]["parameters"][0]
    assert param["schema"] == {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
    hold = doc["paths"]["/api/v1/bookings"]["post"]
    assert {"201", "400", "401", "403", "404", "409", "413", "422"} == set(hold["responses"])
    assert "default" not in hold["responses"]
    assert doc["components"]["schemas"]["Hold"]["additionalProperties"] is False
    assert {"/api/v1/screenings", "/api/v1/screenings/latest",
            "/api/v1/bookings/{booking_id}/consents"} <= set(doc["paths"])
