"""CLI commands: seed-demo (idempotent) and create-user (the only way to make staff)."""

from __future__ import annotations

from sqlalchemy import func, select

from booking.accounts.models import User
from booking.catalogue.models import Clinic, ConsultationType, Doctor, Treatment
from booking.extensions import db


def _counts() -> tuple[int, ...]:
    return tuple(db.session.scalar(select(func.count()).select_from(m))
                 for m in (Clinic, Doctor, Treatment, ConsultationType, User))


def test_seed_demo_is_idempotent_and_prints_logins(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    for login in ["admin@example.com", "patient@example.com", "patient2@example.com",
                  "coordinator@sukhumvit-spine.example.com"]:
        assert login in first.output
    with app.app_context():
        after_first = _counts()
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    with app.app_context():
        assert _counts() == after_first == (3, 5, 3, 6, 6)
        coordinators = db.session.scalars(select(User).where(User.role == "coordinator")).all()
        assert len({c.clinic_id for c in coordinators}) == 3


def test_create_user_makes_an_admin_and_a_coordinator(app, demo):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "boss@example.com", "--name", "Boss",
                                 "--role", "admin", "--password", "admin-pass-123"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["create-user", "c2@example.com", "--name", "C2",
                                 "--role", "coordinator", "--clinic", "silom-pain-rehab",
                                 "--password", "coord-pass-123"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        c2 = db.session.scalar(select(User).where(User.email == "c2@example.com"))
        assert c2.role == "coordinator" and c2.clinic.slug == "silom-pain-rehab"


def test_create_user_explains_mistakes(app, demo):
    runner = app.test_cli_runner()
    no_clinic = runner.invoke(args=["create-user", "c3@example.com", "--name", "C3",
                                    "--role", "coordinator", "--password", "coord-pass-123"])
    assert no_clinic.exit_code != 0 and "must belong to a clinic" in no_clinic.output
    taken = runner.invoke(args=["create-user", "admin@example.com", "--name", "A",
                                "--role", "admin", "--password", "admin-pass-123"])
    assert taken.exit_code != 0 and "already exists" in taken.output
    bad_clinic = runner.invoke(args=["create-user", "c4@example.com", "--name", "C4",
                                     "--role", "coordinator", "--clinic", "nowhere",
                                     "--password", "coord-pass-123"])
    assert bad_clinic.exit_code != 0 and "no clinic" in bad_clinic.output
