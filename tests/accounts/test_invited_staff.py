"""An invited coordinator who has not chosen a password yet (never signed in) receives none of
the clinic's alerts, which name patients: not a new hold, a move, a cancellation, a failure
alert or the daily digest. Once they accept the invitation, they do."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from booking.accounts.models import User
from booking.catalogue.models import Clinic
from booking.core.zones import CLINIC_ZONE
from booking.extensions import db
from booking.notifications import services as outbox
from booking.notifications.models import OutboxMessage
from booking.scheduling import messages as booking_messages
from booking.scheduling import services as scheduling
from tests.conftest import post_form
from tests.mailsink import first_link
from tests.scheduling.helpers import hold, screen, user

COORDINATOR = "coordinator@sukhumvit-spine.example.com"
INVITED = "nok@sukhumvit-spine.example.com"


def _invite(app, as_role, mail_sink) -> str:
    """An admin invites a second coordinator for Sukhumvit; returns the invitation link."""
    with app.app_context():
        clinic_id = db.session.scalar(select(Clinic.id).where(Clinic.slug == "sukhumvit-spine"))
    response = post_form(as_role("admin"), "/admin/users/new", {
        "name": "Nok Invited", "email": INVITED, "role": "coordinator",
        "clinic_id": str(clinic_id)})
    assert response.status_code == 302
    return first_link(mail_sink.wait_for(INVITED)[0], "/reset-password/")


def _subjects(mail_sink, address: str) -> list[str]:
    return [str(m["Subject"]) for m in mail_sink.to(address)]


def _kinds_for(address: str) -> list[str]:
    return list(db.session.scalars(select(OutboxMessage.kind).join(OutboxMessage.recipient)
                                   .where(User.email == address).order_by(OutboxMessage.id)))


def test_only_coordinators_who_accepted_get_the_clinic_alerts(app, as_role, demo, mail_sink):
    link = _invite(app, as_role, mail_sink)
    with app.app_context():
        assert user(INVITED).invite_pending and not user(INVITED).receives_clinic_alerts
        screen()
        booking = hold()  # the patient holds a slot: the clinic hears of it
        outbox.dispatch_due()
        [alert] = mail_sink.wait_for(COORDINATOR)
        assert str(alert["Subject"]).startswith(f"New hold {booking.reference}")
        assert _subjects(mail_sink, INVITED) == ["Your SpineBridge staff account"]
        assert _kinds_for(INVITED) == ["staff_invite"]
        booking_id = booking.id

    # Accepting the invitation (choosing a password) turns the alerts on.
    accepted = post_form(app.test_client(), link.replace(app.config["BASE_URL"], ""),
                         {"password": "nok-password-123", "confirm": "nok-password-123"})
    assert accepted.status_code == 302
    mail_sink.clear()
    with app.app_context():
        assert user(INVITED).receives_clinic_alerts
        booking = db.session.get(type(booking), booking_id)
        scheduling.cancel(user("patient@example.com"), booking, reason="Changed plans")
        db.session.commit()
        outbox.dispatch_due()
        for address in (COORDINATOR, INVITED):
            [cancelled] = mail_sink.wait_for(address)
            assert str(cancelled["Subject"]) == (
                f"A patient cancelled booking {booking.reference}")


def test_failure_alerts_skip_invited_coordinators(app, as_role, demo, mail_sink):
    _invite(app, as_role, mail_sink)
    with app.app_context():
        screen()
        booking = hold()
        message = db.session.scalar(select(OutboxMessage).where(
            OutboxMessage.kind == "hold_placed"))
        message.last_error = "550 mailbox unavailable"
        outbox.failed_for_good(message)  # what a message's last failed attempt calls
        db.session.commit()
        recipients = set(db.session.scalars(
            select(User.email).join(OutboxMessage, OutboxMessage.recipient_id == User.id)
            .where(OutboxMessage.kind == "message_failed",
                   OutboxMessage.about("booking", booking.id))))
        assert recipients == {COORDINATOR}


def test_the_daily_digest_skips_invited_coordinators_and_is_checked_when_sent(app, as_role,
                                                                             demo, mail_sink):
    _invite(app, as_role, mail_sink)
    with app.app_context():
        screen()
        booking = hold(confirm=True)
        evening = (booking.starts_at.astimezone(CLINIC_ZONE) - timedelta(days=1)).replace(hour=18)
        # The demo coordinators, not Nok:
        assert booking_messages.queue_daily_digests(now=evening) == 3
        db.session.commit()
        assert "daily_digest" not in _kinds_for(INVITED)

        # Queued while allowed, but suspended before the worker sends it: not sent.
        db.session.execute(OutboxMessage.__table__.delete().where(
            OutboxMessage.kind == "daily_digest"))
        db.session.commit()
        assert booking_messages.queue_daily_digests(now=evening) == 3
        user(COORDINATOR).active = False
        db.session.commit()
        outbox.dispatch_due(now=evening)
        mail_sink.wait_for("coordinator@silom-pain-rehab.example.com")
        assert not any(s == "Tomorrow at your clinic" for s in _subjects(mail_sink, COORDINATOR))
        assert db.session.scalar(select(OutboxMessage.status).join(OutboxMessage.recipient).where(
            OutboxMessage.kind == "daily_digest", User.email == COORDINATOR)) == "cancelled"
