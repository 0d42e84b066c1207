"""Passport numbers at rest: not readable in the database, opened only with a configured key,
and a key can be rotated (new key first, `flask rotate-keys`, old key dropped)."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import text

from booking.core import crypto
from booking.extensions import db
from booking.travel import people
from tests.scheduling.helpers import user
from tests.travel.helpers import make_trip


def test_passport_numbers_are_not_in_the_database_in_clear(ctx, demo):
    make_trip(companion=True)
    rows = db.session.execute(text(
        "SELECT passport_number_sealed FROM trip UNION ALL "
        "SELECT passport_number_sealed FROM trip_companion")).scalars().all()
    assert len(rows) == 2
    for raw in rows:
        assert "12345678" not in raw and "87654321" not in raw
        assert raw.startswith("gAAAA")  # a Fernet token


def test_a_key_is_rotated_without_losing_a_number(app, demo):
    old = app.config["ENCRYPTION_KEYS"]
    new = Fernet.generate_key().decode()
    try:
        with app.app_context():
            trip = make_trip(companion=True)
            trip_id = trip.id
        app.config["ENCRYPTION_KEYS"] = f"{new},{old}"
        result = app.test_cli_runner().invoke(args=["rotate-keys"])
        assert result.exit_code == 0, result.output
        assert "Re-sealed 2 values" in result.output
        app.config["ENCRYPTION_KEYS"] = new  # the old key is gone
        with app.app_context():
            from booking.travel.models import Trip

            trip = db.session.get(Trip, trip_id)
            patient = user("patient@example.com")
            assert people.passport_number(patient, trip, reveal=True) == "X12345678"
            assert people.passport_number(patient, trip.companions[0],
                                            reveal=True) == "Y87654321"
        app.config["ENCRYPTION_KEYS"] = Fernet.generate_key().decode()  # a stranger's key
        with app.app_context(), pytest.raises(InvalidToken):
            crypto.unseal(db.session.get(Trip, trip_id).passport_number_sealed)
    finally:
        app.config["ENCRYPTION_KEYS"] = old


def test_without_a_key_nothing_is_stored(app, demo):
    old = app.config["ENCRYPTION_KEYS"]
    try:
        app.config["ENCRYPTION_KEYS"] = ""
        with app.app_context(), pytest.raises(crypto.KeysMissing):
            crypto.seal("X12345678")
    finally:
        app.config["ENCRYPTION_KEYS"] = old
