"""schemathesis walks every operation of the generated document, as anonymous and as a
signed-in patient: no 5xx, and every answer is one the document describes (status, content
type, body schema, headers). Bounded and derandomized so CI sees the same examples each run.

(schemathesis' own pytest wrapper, `from_fixture`, fails on pytest 9 — it reads a removed
`_nodeid` — so each operation's strategy is driven by hypothesis here.)"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks

from booking.extensions import db
from tests.scheduling.helpers import hold

CHECKS = [checks.not_a_server_error, checks.status_code_conformance,
          checks.content_type_conformance, checks.response_schema_conformance,
          checks.response_headers_conformance]
EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 10}


def _walk(app, headers: dict) -> list[str]:
    """Every operation, in both modes; the failures, each named by its operation."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:
        for mode, examples in EXAMPLES.items():

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            def check(case) -> None:  # type: ignore[no-untyped-def]
                response = case.call(headers=headers)
                case.validate_response(response, checks=CHECKS)
                headers_seen = {k.lower(): v for k, v in response.headers.items()}
                assert headers_seen["cache-control"] in ("no-store", ["no-store"])
                if headers:
                    assert response.status_code != 401, "the token was not taken"

            try:
                check()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing to get wrong (no inputs)
            except Exception as error:  # noqa: BLE001 - collected, reported below
                failures.append(f"{operation.label} ({mode.value}): {error}"[:3000])
    return failures


def test_every_operation_conforms_for_anonymous(app, demo):
    assert _walk(app, {}) == []


@pytest.fixture()
def patient_headers(app, tokens) -> dict:
    """The patient's bearer token, with a booking of theirs to find."""
    with app.app_context():
        hold("patient@example.com")
        db.session.remove()
    return {"Authorization": f"Bearer {tokens['patient']}"}


def test_every_operation_conforms_for_a_patient_with_a_bearer_token(app, patient_headers):
    assert _walk(app, patient_headers) == []
