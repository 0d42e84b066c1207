"""The clinic hears what patients do themselves: a new hold to confirm when the deposit
arrives, a move, a cancellation. Staff actions do not email the staff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from booking.extensions import db
from booking.notifications import services as outbox
from booking.notifications.models import OutboxMessage
from booking.scheduling import messages as booking_messages
from booking.scheduling import services
from tests.scheduling.helpers import ctype_for, first_free, hold, user

COORDINATOR = "coordinator@sukhumvit-spine.example.com"
OTHER_CLINIC = "coordinator@silom-pain-rehab.example.com"


def _subjects(mail_sink, address: str) -> list[str]:
    return [str(m["Subject"]) for m in mail_sink.to(address)]


def test_a_patients_hold_tells_the_clinic_what_to_do_and_by_when(ctx, demo, mail_sink):
    booking = hold()  # placed by the patient
    outbox.dispatch_due()
    [email] = mail_sink.wait_for(COORDINATOR)
    assert str(email["Subject"]) == (
        f"New hold {booking.reference}: confirm it when the deposit arrives")
    text = email.get_body(("plain",)).get_content()
    assert "Jane Miller has held a time for a consultation" in text
    assert "Bangkok time" in text and "America/New_York" in text
    assert f"/bookings/{booking.id}" in text
    assert mail_sink.to(OTHER_CLINIC) == []  # another clinic hears nothing
    # The patient's own messages list shows what was sent to them, not the clinic's alert.
    assert all(m.recipient_id == booking.patient_id or m.kind.startswith("clinic_")
               for m in db.session.scalars(select(OutboxMessage)))


def test_a_hold_placed_by_the_clinic_does_not_email_the_clinic(ctx, demo, mail_sink):
    ctype = ctype_for()
    slot = first_free(ctype)
    patient = user("patient@example.com")
    services.place_hold(user(COORDINATOR), patient=patient, ctype=ctype,
                        doctor_id=slot.doctor_id, start=slot.start)
    db.session.commit()
    outbox.dispatch_due()
    mail_sink.wait_for("patient@example.com")
    assert _subjects(mail_sink, COORDINATOR) == []


def test_a_patients_move_and_cancellation_reach_the_clinic(ctx, demo, mail_sink):
    booking = hold(confirm=True)
    old_start = booking.starts_at
    outbox.dispatch_due()
    mail_sink.clear()
    new = first_free(ctype_for(), after=booking.starts_at + timedelta(days=3),
                     doctor_id=booking.doctor_id)
    services.reschedule(user("patient@example.com"), booking, start=new.start)
    db.session.commit()
    outbox.dispatch_due()
    [moved] = mail_sink.wait_for(COORDINATOR)
    assert str(moved["Subject"]) == f"A patient moved booking {booking.reference}"
    text = moved.get_body(("plain",)).get_content()
    from flask import render_template_string

    was = render_template_string("{{ t|when }}", t=old_start)
    now_at = render_template_string("{{ t|when }}", t=new.start)
    assert f"It was: {was} (Bangkok time)." in text and now_at in text

    mail_sink.clear()
    services.cancel(user("patient@example.com"), booking, reason="Flights too expensive")
    db.session.commit()
    outbox.dispatch_due()
    [cancelled] = mail_sink.wait_for(COORDINATOR)
    assert str(cancelled["Subject"]) == f"A patient cancelled booking {booking.reference}"
    assert "Reason: Flights too expensive" in cancelled.get_body(("plain",)).get_content()


def test_the_patients_booking_page_lists_only_their_own_messages(as_role, app, mail_sink):
    with app.app_context():
        booking_id = hold().id
        outbox.dispatch_due()
    mail_sink.wait_for(COORDINATOR)
    patient_page = as_role("patient").get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert "Your time is held" in patient_page and "New hold" not in patient_page
    staff_page = as_role("coordinator").get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert "New hold" in staff_page  # the clinic's timeline shows both


def test_a_coordinator_can_turn_booking_alerts_off_on_their_profile(as_role, app, mail_sink):
    from tests.conftest import post_form

    coordinator = as_role("coordinator")
    page = coordinator.get("/account").get_data(as_text=True)
    assert "Email me when a patient holds, moves or cancels a booking" in page
    assert "Email me when a patient holds" not in as_role("patient").get(
        "/account").get_data(as_text=True)  # patients have nothing to turn off
    saved = post_form(coordinator, "/account", {
        "name": "Kanya Suwan", "country": "TH", "phone": "", "timezone": "Asia/Bangkok",
        "language": "en", "currency": "THB"})  # the box left unticked
    assert saved.status_code == 302
    with app.app_context():
        assert user(COORDINATOR).booking_alerts is False
        booking = hold()
        outbox.dispatch_due()
        mail_sink.wait_for("patient@example.com")
        assert db.session.scalar(select(OutboxMessage).where(
            OutboxMessage.kind == "clinic_new_hold")) is None
        services.cancel(user("patient@example.com"), booking)  # nor about a cancellation
        db.session.commit()
        outbox.dispatch_due()
        mail_sink.wait_for("patient@example.com", count=2)
    assert _subjects(mail_sink, COORDINATOR) == []


def test_a_clinic_alert_is_checked_again_when_it_is_sent(ctx, demo, mail_sink):
    """Queued, then overtaken: the hold was confirmed already, or the coordinator has since
    turned alerts off or moved to another clinic. Patients' details go to none of them."""
    booking = hold(consented=True)  # queues the clinic's "new hold"
    services.confirm_by_hand(user(COORDINATOR), booking)
    db.session.commit()
    outbox.dispatch_due()
    mail_sink.wait_for("patient@example.com", count=2)
    assert _subjects(mail_sink, COORDINATOR) == []  # the hold was over before it went
    assert db.session.scalar(select(OutboxMessage.status).where(
        OutboxMessage.kind == "clinic_new_hold")) == "cancelled"

    mail_sink.clear()
    new = first_free(ctype_for(), after=booking.starts_at + timedelta(days=3),
                     doctor_id=booking.doctor_id)
    services.reschedule(user("patient@example.com"), booking, start=new.start)
    db.session.commit()
    coordinator = user(COORDINATOR)
    other_clinic = user(OTHER_CLINIC).clinic_id
    coordinator.clinic_id = other_clinic  # moved by an admin before the worker got to it
    db.session.commit()
    outbox.dispatch_due()
    mail_sink.wait_for("patient@example.com")
    assert _subjects(mail_sink, COORDINATOR) == []
    assert db.session.scalar(select(OutboxMessage.status).where(
        OutboxMessage.kind == "clinic_patient_moved")) == "cancelled"


def test_ending_batches_pull_the_next_claims_when_claims_in_flight_are_capped(app, demo,
                                                                            mail_sink):
    keys = ("OUTBOX_SWEEP_LIMIT", "OUTBOX_BATCH", "OUTBOX_MAX_IN_FLIGHT")
    before = {key: app.config[key] for key in keys}
    app.config.update(OUTBOX_SWEEP_LIMIT=3, OUTBOX_BATCH=1, OUTBOX_MAX_IN_FLIGHT=2)
    try:
        with app.app_context():
            booking = hold()
            outbox.dispatch_due()
            mail_sink.clear()
            for _ in range(6):
                booking_messages.queue("hold_placed", booking)
            db.session.commit()
        # One sweep may claim only 2 (the cap); each batch that ends asks for the next.
        app.extensions["celery"].tasks["notifications.dispatch_due"].delay()
        assert len(mail_sink.wait_for("patient@example.com", count=6)) == 6
        with app.app_context():
            assert not outbox.any_due(datetime.now(UTC))
    finally:
        app.config.update(before)
