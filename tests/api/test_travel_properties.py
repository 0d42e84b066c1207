"""Property: whatever JSON a client sends as a flight, a passport or a companion, the answer is
never a 5xx, a 4xx is the JSON error shape, and a 200 stored what the answer says."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.helpers import api, assert_error_shape
from tests.api.test_properties import json_values, text
from tests.api.test_travel_api import _build_trip

BOUNDED = settings(max_examples=80, deadline=None, derandomize=True, database=None,
                   suppress_health_check=list(HealthCheck))


def _instants() -> st.SearchStrategy[str]:
    """ISO instants around now and beyond, with and without offsets, and broken ones."""
    offsets = st.sampled_from(["Z", "+07:00", "-12:00", "+14:00", "+05:45", ""])
    moments = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30))
    soon = st.integers(min_value=-3 * 24, max_value=600 * 24).map(
        lambda hours: (datetime.now(UTC) + timedelta(hours=hours)).replace(tzinfo=None))
    return st.builds(lambda m, o: m.isoformat() + o, moments | soon, offsets) | text


def _days() -> st.SearchStrategy[str]:
    return (st.dates(min_value=date(1, 1, 1)).map(date.isoformat)
            | st.integers(min_value=-400, max_value=20_000).map(
                lambda n: (date.today() + timedelta(days=n)).isoformat())
            | text)


FLIGHT = {"flight": st.sampled_from(["TG 917", "tg917", "EK-384", "9W 12", "FD3101A", "12 34",
                                     "", "T", "TG 99999"]) | text,
          "airport": st.sampled_from(["BKK", "DMK", "bkk", "LHR"]) | text,
          "scheduled_at": _instants()}
PASSPORT = {"nationality": st.sampled_from(["US", "gb", "TH", "XX", "ZZ", "EU", ""]) | text,
            "number": st.from_regex(r"[A-Za-z0-9 -]{0,45}", fullmatch=True) | text,
            "expiry": _days()}
COMPANION = {"name": text, "relationship": st.sampled_from(["spouse", "friend", "cat"]) | text,
             "nationality": PASSPORT["nationality"], "passport_number": PASSPORT["number"],
             "passport_expiry": _days()}


def _bodies(fields: dict) -> st.SearchStrategy:
    """Mostly well-typed bodies (each field either well-formed-ish or any JSON value), some
    with a field missing or an extra one, and some not objects at all."""
    typed = st.fixed_dictionaries({}, optional=fields)
    mixed = st.fixed_dictionaries({}, optional={k: v | json_values for k, v in fields.items()})
    extra = st.dictionaries(text, json_values, max_size=2)
    return (typed | st.builds(lambda a, b: {**b, **a}, mixed, extra)
            | json_values)


def _check(response) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if response.status_code >= 400:
        assert_error_shape(response)
        assert len(response.get_data()) < 4096


@pytest.fixture()
def trip(app, tokens) -> dict:
    with app.app_context():
        return _build_trip(flights=True, passport=True, companion=False)


@pytest.mark.parametrize("direction", ["arrival", "departure"])
def test_any_flight_body_is_answered_without_a_5xx(client, tokens, trip, direction):
    url = f"/trips/{trip['id']}/flights/{direction}"

    @given(body=_bodies(FLIGHT))
    @BOUNDED
    def check(body) -> None:  # type: ignore[no-untyped-def]
        response = api(client, "put", url, tokens["patient"], json=body)
        _check(response)
        if response.status_code == 200:
            flight = next(f for f in response.json["flights"] if f["direction"] == direction)
            assert flight["airport"] == body["airport"]

    check()


def test_any_passport_body_is_answered_without_a_5xx(client, tokens, trip):
    url = f"/trips/{trip['id']}/passport"

    @given(body=_bodies(PASSPORT))
    @BOUNDED
    def check(body) -> None:  # type: ignore[no-untyped-def]
        response = api(client, "put", url, tokens["patient"], json=body)
        _check(response)
        if response.status_code == 200:
            number = "".join(body["number"].split()).replace("-", "").upper()
            assert number not in response.get_data(as_text=True)
            revealed = api(client, "get", f"/trips/{trip['id']}/passport-number?holder=patient",
                           tokens["patient"])
            assert revealed.json["number"] == number

    check()


def test_any_companion_body_is_answered_without_a_5xx(client, tokens, trip):
    url = f"/trips/{trip['id']}/companions"

    @given(body=_bodies(COMPANION))
    @BOUNDED
    def check(body) -> None:  # type: ignore[no-untyped-def]
        response = api(client, "post", url, tokens["patient"], json=body)
        _check(response)
        if response.status_code == 201:  # keep room for the next examples
            for companion in response.json["companions"]:
                api(client, "delete", f"{url}/{companion['id']}", tokens["patient"])

    check()
