"""The outbox: rows written with the booking change, reminders at the right instants across DST,
moved on reschedule, cancelled on cancellation, sent over real SMTP with a calendar file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from booking.extensions import db
from booking.notifications import services as outbox
from booking.notifications.models import OutboxMessage
from booking.scheduling import messages as booking_messages
from booking.scheduling import services
from booking.scheduling.consent import CONSENTS
from booking.scheduling.models import Booking
from tests.scheduling.helpers import ctype_for, first_free, hold, user


def rows(booking_id: int) -> list[tuple[str, str, datetime]]:
    """The patient's messages about a booking (not the clinic's own alerts)."""
    return [(m.kind, m.status, m.due_at) for m in db.session.scalars(
        select(OutboxMessage).join(Booking, OutboxMessage.about("booking", Booking.id))
        .where(OutboxMessage.about("booking", booking_id),
               OutboxMessage.recipient_id == Booking.patient_id)
        .order_by(OutboxMessage.due_at, OutboxMessage.id))]


def _confirm(booking: Booking) -> None:
    services.give_consent(booking.patient, booking, list(CONSENTS))
    services.confirm_by_hand(user("coordinator@sukhumvit-spine.example.com"), booking)
    db.session.commit()


def test_hold_and_confirmation_queue_messages_and_four_reminders(ctx, demo):
    booking = hold()
    assert [(k, s) for k, s, _ in rows(booking.id)] == [("hold_placed", "pending")]
    _confirm(booking)
    reminders = [due for kind, _, due in rows(booking.id) if kind == "reminder"]
    expected = [booking.starts_at - d for d in booking_messages.REMINDERS if booking.starts_at - d >
                datetime.now(UTC)]
    assert sorted(reminders) == sorted(expected)  # a reminder already past is not queued
    assert ("booking_confirmed", "pending") in [(k, s) for k, s, _ in rows(booking.id)]


@pytest.mark.parametrize(("zone", "start", "offset_before", "offset_after"), [
    # 09:00 Bangkok on Mon 15 Mar 2027; New York moved to EDT on 14 March.
    ("America/New_York", datetime(2027, 3, 15, 2, 0, tzinfo=UTC), "-05:00", "-04:00"),
    # 09:00 Bangkok on Mon 29 Mar 2027; London moved to BST on 28 March.
    ("Europe/London", datetime(2027, 3, 29, 2, 0, tzinfo=UTC), "+00:00", "+01:00"),
    # 09:00 Bangkok on Mon 5 Apr 2027; Sydney left daylight time on 4 April.
    ("Australia/Sydney", datetime(2027, 4, 5, 2, 0, tzinfo=UTC), "+11:00", "+10:00"),
])
def test_reminders_fall_on_the_right_instants_across_dst(ctx, demo, zone, start, offset_before,
                                                         offset_after):
    """Reminders are exact instants before the consultation: 7 days before is 168 hours, even
    when the patient's clock changed in between (their local time shifts by the DST hour)."""
    from zoneinfo import ZoneInfo

    ctype = ctype_for()
    ctype.horizon_days = 400
    patient = user("patient@example.com")
    patient.timezone = zone
    booking = services.place_hold(patient, patient=patient, ctype=ctype,
                                  doctor_id=first_free(ctype).doctor_id, start=start,
                                  patient_timezone=zone)
    db.session.commit()
    _confirm(booking)
    reminders = sorted(due for kind, _, due in rows(booking.id) if kind == "reminder")
    assert reminders == [start - timedelta(days=7), start - timedelta(hours=48),
                         start - timedelta(hours=24), start - timedelta(hours=2)]
    local = [r.astimezone(ZoneInfo(zone)) for r in reminders]
    assert local[0].isoformat().endswith(offset_before)
    assert local[-1].isoformat().endswith(offset_after)


def test_reschedule_moves_pending_reminders_and_cancel_cancels_them(ctx, demo):
    booking = hold()
    _confirm(booking)
    new = first_free(ctype_for(), after=booking.starts_at + timedelta(days=3),
                     doctor_id=booking.doctor_id)
    services.reschedule(user("patient@example.com"), booking, start=new.start)
    db.session.commit()
    live = [due for kind, status, due in rows(booking.id)
            if kind == "reminder" and status == "pending"]
    assert sorted(live) == sorted(new.start - d for d in booking_messages.REMINDERS
                                  if new.start - d > datetime.now(UTC))
    assert ("booking_rescheduled", "pending") in [(k, s) for k, s, _ in rows(booking.id)]
    services.cancel(user("patient@example.com"), booking)
    db.session.commit()
    assert all(status == "cancelled" for kind, status, _ in rows(booking.id)
               if kind == "reminder")
    assert ("booking_cancelled", "pending") in [(k, s) for k, s, _ in rows(booking.id)]


def test_due_messages_are_sent_over_smtp_with_a_calendar_file(ctx, demo, mail_sink):
    booking = hold()
    _confirm(booking)
    counts = outbox.dispatch_due()
    # Hold placed + confirmed; the clinic's "new hold" alert is dropped, as the hold was
    # confirmed before it went; reminders are not due yet.
    assert counts == {"sent": 2, "cancelled": 1}
    messages = mail_sink.wait_for("patient@example.com", count=2)
    confirmed = next(m for m in messages if "Booking confirmed" in m["Subject"])
    assert confirmed["Message-ID"].startswith("<outbox-")
    body = confirmed.get_body(preferencelist=("plain",)).get_content()
    assert "In Bangkok:" in body and "(America/New_York)" in body
    ics = next(p for p in confirmed.iter_attachments()
               if p.get_content_type() == "text/calendar")
    event = Calendar.from_ical(ics.get_content()).walk("VEVENT")[0]
    assert event.decoded("dtstart") == booking.starts_at
    assert outbox.dispatch_due() == {}  # nothing is sent twice
    statuses = {kind: status for kind, status, _ in rows(booking.id) if kind != "reminder"}
    assert statuses == {"hold_placed": "sent", "booking_confirmed": "sent"}


def test_smtp_refusing_retries_with_backoff_then_fails(app, demo, mail_sink):
    with app.app_context():
        booking_id = hold().id
    state = app.extensions["mailman"]
    state.port = 1  # the mail server refuses: nothing listens there
    try:
        with app.app_context():
            for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
                outbox.dispatch_due(now=datetime.now(UTC) + timedelta(days=attempt))
                message = db.session.scalar(select(OutboxMessage).where(
                    OutboxMessage.about("booking", booking_id),
                    OutboxMessage.kind == "hold_placed"))
                assert message.attempts == attempt and "Error" in message.last_error
            assert message.status == "failed"
    finally:
        state.port = mail_sink.port
    with app.app_context():
        db.session.remove()
        message = db.session.scalar(select(OutboxMessage).where(
            OutboxMessage.about("booking", booking_id), OutboxMessage.kind == "hold_placed"))
        outbox.resend(message)
        db.session.commit()
        assert outbox.dispatch_due() == {"sent": 2}  # the message, and the clinic's alert
    mail_sink.wait_for("patient@example.com")


def test_coordinator_sees_the_timeline_and_the_patient_sees_sent_messages(as_role, app, demo,
                                                                          mail_sink):
    with app.app_context():
        booking = hold()
        _confirm(booking)
        booking_id = booking.id
        outbox.dispatch_due()
    staff = as_role("coordinator").get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert "Message timeline" in staff and "attempts: 1" in staff and "pending" in staff
    patient = as_role("patient").get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert "Booking confirmed:" in patient and "Reminder:" not in patient


def test_the_same_send_delivered_twice_sends_one_email(ctx, demo, mail_sink):
    booking = hold()
    assert len(outbox.claim_due(datetime.now(UTC))) == 2  # the patient's and the clinic's
    message_id = db.session.scalar(select(OutboxMessage.id).where(
        OutboxMessage.kind == "hold_placed"))
    assert outbox.send(message_id) == "sent"
    assert outbox.send(message_id) == "skipped"  # a redelivered task
    assert len(mail_sink.wait_for("patient@example.com")) == 1
    assert rows(booking.id)[0][1] == "sent"


def test_a_claim_left_by_a_dead_worker_is_sent_once_after_the_lease(ctx, demo, mail_sink):
    hold()
    now = datetime.now(UTC)
    claimed = outbox.claim_due(now)  # the worker died before sending
    assert len(claimed) == 2  # the patient's message and the clinic's alert
    assert outbox.dispatch_due(now + timedelta(minutes=1)) == {}  # still leased
    assert outbox.dispatch_due(now + outbox.LEASE + timedelta(minutes=1)) == {"sent": 2}
    assert len(mail_sink.wait_for("patient@example.com")) == 1


def test_broker_down_at_booking_time_the_message_waits_in_the_outbox(app, demo, mail_sink,
                                                                     tmp_path):
    """The hold commits with its message even though the worker cannot be told; the sweep
    sends it once the broker is back."""
    from booking import create_app
    from tests.conftest import csrf_token, login, make_config

    broken = create_app(make_config(
        str(tmp_path), SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        MAIL_PORT=mail_sink.port, RATELIMIT_ENABLED=False,
        CELERY={**app.config["CELERY"], "task_always_eager": False,
                "broker_url": "redis://127.0.0.1:1/0",
                "broker_connection_retry": False, "broker_connection_max_retries": 0,
                "broker_transport_options": {"max_retries": 0}}))
    with app.app_context():
        ctype = ctype_for()
        slot = first_free(ctype)
        ctype_id = ctype.id
        from tests.scheduling.helpers import screen

        screen()
    client = broken.test_client()
    login(client, "patient@example.com", "demo-password-123")
    token = csrf_token(client, f"/book/{ctype_id}")
    response = client.post(f"/book/{ctype_id}/hold", data={
        "csrf_token": token, "start": slot.start.isoformat(), "doctor": str(slot.doctor_id)})
    assert response.status_code == 302  # the booking went through
    with app.app_context():
        booking_id = db.session.scalar(select(Booking.id))
        assert rows(booking_id)[0][:2] == ("hold_placed", "pending")
        assert mail_sink.to("patient@example.com") == []
        # The broker is back: the sweep sends the patient's email and the clinic's alert.
        assert outbox.dispatch_due() == {"sent": 2}
    assert len(mail_sink.wait_for("patient@example.com")) == 1


def test_admin_lists_every_message_and_shows_it_rendered(as_role, app, demo):
    with app.app_context():
        booking = hold()
        _confirm(booking)
        message_id = db.session.scalar(select(OutboxMessage.id).where(
            OutboxMessage.kind == "booking_confirmed"))
    admin = as_role("admin")
    listing = admin.get("/admin/outbox?status=pending").get_data(as_text=True)
    assert "booking_confirmed" in listing and "reminder" in listing
    page = admin.get(f"/admin/outbox/{message_id}").get_data(as_text=True)
    assert "Booking confirmed" in page and "In Bangkok:" in page
    assert f'src="/admin/outbox/{message_id}/preview.html"' in page and "sandbox" in page
    # The HTML as sent, with every link a marker: a manage link must not work from here.
    preview = admin.get(f"/admin/outbox/{message_id}/preview.html")
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Open your booking" in html
    assert "href=" not in html and "/manage/" not in html and "data-preview-link" in html
    policy = preview.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "sandbox" in policy and "script" not in policy
    assert "frame-ancestors 'self'" in policy and preview.headers["X-Frame-Options"] == \
        "SAMEORIGIN"
    # The admin's own pages keep the strict policy.
    assert "frame-ancestors 'none'" in admin.get("/admin/outbox").headers[
        "Content-Security-Policy"]
    assert as_role("coordinator").get(f"/admin/outbox/{message_id}/preview.html").status_code \
        == 403


def test_a_failed_message_alerts_the_coordinator_and_shows_on_the_dashboard(app, demo, mail_sink,
                                                                             as_role):
    with app.app_context():
        booking_id = hold().id
    state = app.extensions["mailman"]
    state.port = 1
    try:
        with app.app_context():
            for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
                outbox.dispatch_due(now=datetime.now(UTC) + timedelta(days=attempt))
    finally:
        state.port = mail_sink.port
    with app.app_context():
        kinds = [(m.kind, m.recipient.email, m.status) for m in db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.about("booking", booking_id)))]
        assert ("hold_placed", "patient@example.com", "failed") in kinds
        assert ("message_failed", "coordinator@sukhumvit-spine.example.com", "pending") in kinds
        outbox.dispatch_due()
    [alert] = mail_sink.wait_for("coordinator@sukhumvit-spine.example.com")
    assert "could not be sent" in alert["Subject"]
    dashboard = as_role("coordinator").get("/coordinator/").get_data(as_text=True)
    assert "Messages that could not be sent" in dashboard and "hold_placed" in dashboard


def test_daily_digest_lists_tomorrows_consultations_once(app, demo, mail_sink):
    from booking.core.zones import CLINIC_ZONE

    with app.app_context():
        booking = hold(confirm=True)
        starts = booking.starts_at
        # "Now" is the evening before the consultation, in Bangkok.
        evening = (starts.astimezone(CLINIC_ZONE) - timedelta(days=1)).replace(hour=18)
        assert booking_messages.queue_daily_digests(now=evening) == 3  # one per demo coordinator
        db.session.commit()
        assert booking_messages.queue_daily_digests(now=evening) == 0  # not twice
        db.session.commit()
        outbox.dispatch_due(now=evening)
    [digest] = mail_sink.wait_for("coordinator@sukhumvit-spine.example.com")
    body = digest.get_body(preferencelist=("plain",)).get_content()
    assert "Tomorrow at your clinic" == digest["Subject"]
    assert "Jane Miller" in body and "Confirmed" in body
    [other] = mail_sink.wait_for("coordinator@silom-pain-rehab.example.com")
    assert "No consultations." in other.get_body(preferencelist=("plain",)).get_content()


def test_a_reminder_claimed_before_a_reschedule_is_not_sent_for_the_old_time(ctx, demo,
                                                                            mail_sink):
    """A worker took the 7-day reminder; before it could send, the patient moved the booking.
    The old reminder is dropped at send time; the new time's reminders are pending."""
    booking = hold()
    _confirm(booking)
    outbox.dispatch_due()  # the hold and confirmation emails
    mail_sink.clear()
    first_reminder = min(due for kind, _, due in rows(booking.id) if kind == "reminder")
    claimed = outbox.claim_due(first_reminder + timedelta(seconds=1))
    assert len(claimed) == 1
    new = first_free(ctype_for(), after=booking.starts_at + timedelta(days=3),
                     doctor_id=booking.doctor_id)
    services.reschedule(user("patient@example.com"), booking, start=new.start)
    db.session.commit()
    assert db.session.get(OutboxMessage, claimed[0]).status == "cancelled"  # claimed or not
    assert outbox.send_batch(claimed) == ["skipped"]
    outbox.dispatch_due()  # the "new time" email is due now; new reminders are not yet
    subjects = [str(m["Subject"]) for m in mail_sink.wait_for("patient@example.com")]
    assert subjects == [f"New time for booking {booking.reference}"]
    assert sum(1 for kind, status, _ in rows(booking.id)
               if kind == "reminder" and status == "pending") >= 1


def test_a_reminder_claimed_before_a_cancellation_is_not_sent(ctx, demo, mail_sink):
    booking = hold()
    _confirm(booking)
    outbox.dispatch_due()
    mail_sink.clear()
    first_reminder = min(due for kind, _, due in rows(booking.id) if kind == "reminder")
    claimed = outbox.claim_due(first_reminder + timedelta(seconds=1))
    services.cancel(user("patient@example.com"), booking)
    db.session.commit()
    assert outbox.send_batch(claimed) == ["skipped"]
    outbox.dispatch_due()
    subjects = [str(m["Subject"]) for m in mail_sink.wait_for("patient@example.com")]
    assert subjects == [f"Booking cancelled: {booking.reference}"]


def _claimed_messages(count: int, mail_sink) -> tuple[Booking, list[int]]:  # noqa: ANN001
    """A held booking whose own emails are out of the way, and `count` more claimed for it."""
    booking = hold()
    outbox.dispatch_due()
    mail_sink.clear()
    for _ in range(count):
        booking_messages.queue("hold_placed", booking)
    db.session.commit()
    claimed = outbox.claim_due(datetime.now(UTC))
    assert len(claimed) == count
    return booking, claimed


def test_a_batch_sends_each_message_once_even_when_listed_twice(ctx, demo, mail_sink):
    booking, claimed = _claimed_messages(4, mail_sink)
    assert outbox.send_batch(claimed + claimed[:2]) == ["sent"] * 4 + ["skipped"] * 2
    received = mail_sink.wait_for("patient@example.com", count=4)
    assert sorted(m["Message-ID"] for m in received) == sorted(
        f"<outbox-{i}@spinebridge>" for i in claimed)
    assert {status for _, status, _ in rows(booking.id)} == {"sent"}


def test_one_sweep_task_drains_a_backlog_larger_than_a_sweep(app, demo, mail_sink):
    """The beat sends one sweep a minute; a sweep that claimed its limit queues the next one,
    so a backlog does not wait a minute per few hundred messages."""
    before = {key: app.config[key] for key in ("OUTBOX_SWEEP_LIMIT", "OUTBOX_BATCH")}
    app.config.update(OUTBOX_SWEEP_LIMIT=3, OUTBOX_BATCH=2)
    try:
        with app.app_context():
            booking = hold()
            for _ in range(7):  # 8 due in all: three full sweeps and a last one
                booking_messages.queue("hold_placed", booking)
            db.session.commit()
            booking_id = booking.id
        app.extensions["celery"].tasks["notifications.dispatch_due"].delay()
        assert len(mail_sink.wait_for("patient@example.com", count=8)) == 8
        with app.app_context():
            assert {status for _, status, _ in rows(booking_id)} == {"sent"}
    finally:
        app.config.update(before)


def test_a_reminder_made_for_another_time_than_the_booking_has_is_dropped(ctx, demo, mail_sink):
    """The last check before sending: whatever let it through, a reminder whose time is not
    the booking's is not sent."""
    booking = hold()
    _confirm(booking)
    outbox.dispatch_due()
    mail_sink.clear()
    reminder = booking_messages.queue("reminder", booking, payload={
        "starts_at": (booking.starts_at - timedelta(days=1)).isoformat()})
    db.session.commit()
    assert reminder.id in outbox.claim_due(datetime.now(UTC))
    assert outbox.send_batch([reminder.id]) == ["cancelled"]
    assert mail_sink.to("patient@example.com") == []


def test_one_broken_row_does_not_strand_its_batch_and_fails_after_its_attempts(app, demo,
                                                                               mail_sink):
    app.config["OUTBOX_LEASE_SECONDS"] = 0
    try:
        with app.app_context():
            booking = hold(confirm=True)
            outbox.dispatch_due()
            mail_sink.clear()
            first = booking_messages.queue("hold_placed", booking)
            broken = booking_messages.queue("reminder", booking,
                                            payload={"starts_at": "not a time"})
            last = booking_messages.queue("hold_placed", booking)
            db.session.commit()
            ids = [first.id, broken.id, last.id]
            assert outbox.claim_due(datetime.now(UTC)) == ids
            assert outbox.send_batch(ids) == ["sent", "error", "sent"]
            assert len(mail_sink.wait_for("patient@example.com", count=2)) == 2
            # The broken row is claimed again when its lease lapses (0 s here), until it has
            # used every attempt; then it fails and the clinic is alerted.
            for _ in range(outbox.MAX_ATTEMPTS):
                outbox.dispatch_due()
            db.session.expire_all()
            row = db.session.get(OutboxMessage, broken.id)
            assert row.status == "failed" and row.attempts == outbox.MAX_ATTEMPTS
            alert = db.session.scalar(select(OutboxMessage).where(
                OutboxMessage.kind == "message_failed"))
            assert alert is not None and alert.payload["failed_kind"] == "reminder"
    finally:
        app.config["OUTBOX_LEASE_SECONDS"] = 600


def test_claims_waiting_to_be_sent_are_capped(app, demo):
    before = app.config["OUTBOX_MAX_IN_FLIGHT"]
    app.config["OUTBOX_MAX_IN_FLIGHT"] = 3
    try:
        with app.app_context():
            booking = hold()
            for _ in range(4):
                booking_messages.queue("hold_placed", booking)
            db.session.commit()
            now = datetime.now(UTC)
            assert outbox.claim_room(now) == 3
            assert len(outbox.claim_due(now, 2)) == 2  # claimed, not sent yet
            assert outbox.claim_room(now) == 1
            assert len(outbox.claim_due(now, outbox.claim_room(now))) == 1
            assert outbox.claim_room(now) == 0 and outbox.claim_due(now, 0) == []
            assert outbox.any_due(now)  # two are still waiting for room
    finally:
        app.config["OUTBOX_MAX_IN_FLIGHT"] = before


def test_two_copies_of_a_batch_running_at_once_send_each_email_once(app, demo, mail_sink):
    import threading

    with app.app_context():
        _, ids = _claimed_messages(20, mail_sink)
    results: list[list[str]] = []

    def run() -> None:
        with app.app_context():
            results.append(outbox.send_batch(ids))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    received = mail_sink.wait_for("patient@example.com", count=20)
    assert sorted(m["Message-ID"] for m in received) == sorted(
        f"<outbox-{i}@spinebridge>" for i in ids)
    assert sorted(o for r in results for o in r) == ["sent"] * 20 + ["skipped"] * 20
