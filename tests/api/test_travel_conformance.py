"""schemathesis over the trip routes with a trip in the database, as its patient and as its
clinic's coordinator: generated ids mostly miss (404), so half of the positive examples are
pointed at the real trip and companion, to reach the 200s and the services' 409s and 422s.
No 5xx, and every answer is one the document describes. (test_openapi_conformance.py walks
every route too, as anonymous and as a patient without a trip.)"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from booking.extensions import db
from tests.api.test_openapi_conformance import CHECKS, EXAMPLES
from tests.api.test_travel_api import _build_trip


def _check_operation(operation, mode: GenerationMode, examples: int, headers: dict,
                     trip: dict, seen: set[tuple[str, int]]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode), pin=st.booleans())
    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case, pin) -> None:  # type: ignore[no-untyped-def]
        if pin and mode is GenerationMode.POSITIVE:
            params = case.path_parameters or {}
            if "trip_id" in params:
                params["trip_id"] = trip["id"]
            if "companion_id" in params:
                params["companion_id"] = trip["companion_id"]
            if case.query and "holder" in case.query:
                case.query["holder"] = "patient"
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS)
        assert response.status_code != 401, "the token was not taken"
        seen.add((operation.label, response.status_code))

    check()


def _walk_trips(app, headers: dict, trip: dict) -> tuple[list[str], set[tuple[str, int]]]:
    """Every /trips operation in both modes; the failures, and the (operation, status) seen."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [r.ok() for r in schema.get_all_operations() if "/trips" in r.ok().path]
    assert len(operations) >= 16
    failures: list[str] = []
    seen: set[tuple[str, int]] = set()
    for operation in operations:
        for mode, examples in EXAMPLES.items():
            try:
                _check_operation(operation, mode, examples, headers, trip, seen)
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE
            except Exception as error:  # noqa: BLE001 - collected, reported below
                failures.append(f"{operation.label} ({mode.value}): {error}"[:3000])
    return failures, seen


@pytest.fixture()
def trip(app, tokens) -> dict:
    with app.app_context():
        return _build_trip(flights=True, passport=True, companion=True)


@pytest.mark.parametrize("role", ["patient", "coordinator"])
def test_trip_operations_conform_with_a_trip_to_find(app, tokens, trip, role):
    failures, seen = _walk_trips(app, {"Authorization": f"Bearer {tokens[role]}"}, trip)
    assert failures == []
    ok = {label for label, status in seen if status in (200, 201)}
    for label in ("GET /api/v1/trips", "GET /api/v1/trips/{trip_id}",
                  "GET /api/v1/trips/{trip_id}/itinerary",
                  "GET /api/v1/trips/{trip_id}/itinerary.ics",
                  "GET /api/v1/trips/{trip_id}/passport-number"):
        assert label in ok, f"{label} never answered 200: {sorted(seen)}"
    with app.app_context():
        db.session.remove()
