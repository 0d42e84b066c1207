"""A bearer token's last use is written at most every few seconds per process, but the token
is never trusted past a write: revoked here or by another process it stops at once, and a
suspended account is refused at once."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select, update

from booking.accounts import services
from booking.accounts.models import ApiToken, User
from booking.extensions import db
from tests.conftest import sql_statements
from tests.scheduling.helpers import user

API = "/api/v1/bookings/999999"  # 404 when signed in (no such booking), 401 when not


def _token(app, demo) -> tuple[str, dict]:
    with app.app_context():
        token = services.create_api_token(user(demo["patient"]), "cache test")
        db.session.commit()
    return token, {"Authorization": f"Bearer {token}"}


def _statements(app, client, headers) -> tuple[int, list[str]]:
    with sql_statements(app) as seen:
        status = client.get(API, headers=headers).status_code
    return status, seen


def test_a_trusted_token_is_not_written_again_within_seconds(app, demo):
    _, headers = _token(app, demo)
    client = app.test_client()
    status, first = _statements(app, client, headers)
    assert status == 404 and any("UPDATE api_token" in s for s in first)
    status, again = _statements(app, client, headers)
    assert status == 404
    assert not any(s.lstrip().upper().startswith("UPDATE") for s in again)
    assert sum("api_token" in s for s in again) <= 1  # at most one read: token and user


def test_a_token_revoked_elsewhere_stops_at_once(app, demo):
    """Another process revokes it with a statement this process's caches are not told of
    (no generation bump, no forget): the token row is still read again within the seconds."""
    token, headers = _token(app, demo)
    client = app.test_client()
    assert client.get(API, headers=headers).status_code == 404
    with app.app_context():
        raw = db.engine.raw_connection()  # not this process's engine events: as elsewhere
        try:
            raw.cursor().execute("UPDATE api_token SET revoked_at = CURRENT_TIMESTAMP "
                                 "WHERE token_hash = '" + services._token_hash(token) + "'")
            raw.commit()
        finally:
            raw.close()
        from booking.core import personal_pages

        personal_pages.bump()  # what the other process's commit does
    assert client.get(API, headers=headers).status_code == 401


def test_a_token_revoked_in_this_process_stops_at_once(app, demo):
    token, headers = _token(app, demo)
    client = app.test_client()
    assert client.get(API, headers=headers).status_code == 404
    with app.app_context():
        patient = user(demo["patient"])
        row = db.session.scalar(select(ApiToken).where(
            ApiToken.token_hash == services._token_hash(token)))
        services.revoke_api_token(patient, row.id)
        db.session.commit()
    assert client.get(API, headers=headers).status_code == 401


def test_a_suspended_account_is_refused_at_once_even_with_a_trusted_token(app, demo):
    _, headers = _token(app, demo)
    client = app.test_client()
    assert client.get(API, headers=headers).status_code == 404
    with app.app_context():
        db.session.execute(update(User).where(User.email == demo["patient"])
                           .values(active=False))
        db.session.commit()
    assert client.get(API, headers=headers).status_code == 401


@pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"),
                    reason="the write generation lives in Redis")
def test_while_nothing_is_written_not_even_the_user_is_read(app, demo):
    _, headers = _token(app, demo)
    client = app.test_client()
    _statements(app, client, headers)  # reads the token, writes last_used_at
    _statements(app, client, headers)  # reads the user once more, at the new generation
    status, third = _statements(app, client, headers)
    assert status == 404 and not any("user_account" in s for s in third)
    with app.app_context():  # a write anywhere: the user is read again
        user(demo["patient"]).name = "Someone Else"
        db.session.commit()
    status, fourth = _statements(app, client, headers)
    assert status == 404 and any("user_account" in s for s in fourth)
