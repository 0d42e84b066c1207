"""Property: whatever JSON a client sends to POST /bookings, and whatever text it puts in the
/availability query string, the answer is never a 5xx, and a 4xx is always the JSON error shape
with messages of bounded length."""

from __future__ import annotations

from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.helpers import api, assert_error_shape

BOUNDED = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                   suppress_health_check=list(HealthCheck))
text = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
               max_size=300)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False) | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12)
FIELDS = ("consultation_type", "doctor", "start", "timezone", "patient", "patient_email")
bodies = st.fixed_dictionaries({}, optional={name: json_values for name in FIELDS}) | json_values


def _check(response) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if response.status_code >= 400:
        assert_error_shape(response)
        assert len(response.get_data()) < 4096


def test_any_json_body_to_post_bookings_is_answered_without_a_5xx(client, tokens, slot):
    @given(body=bodies, keep=st.sets(st.sampled_from(FIELDS[:3])))
    @BOUNDED
    def check(body, keep) -> None:  # type: ignore[no-untyped-def]
        # Mix in valid fields so the check reaches past "required": partly valid bodies.
        if isinstance(body, dict):
            body = {**{k: slot[k] for k in keep}, **body}
        _check(api(client, "post", "/bookings", tokens["patient"], json=body))

    check()


def test_any_query_string_to_availability_is_answered_without_a_5xx(client, tokens, slot):
    names = st.sampled_from(["consultation_type", "doctor", "from", "to", "tz", "other"])
    values = text | st.integers(min_value=-(10**40), max_value=10**40).map(str) | st.sampled_from(
        ["2027-01-01", "0001-01-01", "9999-12-31T23:00:00-05:00", "Asia/Bangkok", "true",
         str(slot["consultation_type"])])

    @given(query=st.dictionaries(names, values, max_size=5))
    @BOUNDED
    def check(query) -> None:  # type: ignore[no-untyped-def]
        _check(client.get(f"/api/v1/availability?{urlencode(query)}"))

    check()
