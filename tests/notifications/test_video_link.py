"""Video consultations: the clinic sets the meeting link on the booking page; the patient gets
it by email (with the calendar file), on their booking page, in the API and in every reminder."""

from __future__ import annotations

from datetime import timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from booking.core.audit import AuditEvent
from booking.extensions import db
from booking.notifications import services as outbox
from booking.notifications.models import OutboxMessage
from booking.scheduling.models import Booking
from tests.conftest import login, post_form
from tests.scheduling.helpers import hold, user

LINK = "https://meet.example.org/sukhumvit/room-4821"


def _set_link(client, booking_id: int, url: str):  # noqa: ANN001, ANN202
    return post_form(client, f"/coordinator/bookings/{booking_id}/video-link", {"url": url},
                     token_from=f"/bookings/{booking_id}")


def test_coordinator_sets_the_link_and_the_patient_gets_it_everywhere(as_role, app, mail_sink):
    with app.app_context():
        booking = hold(confirm=True)
        booking_id, reference = booking.id, booking.reference
        outbox.dispatch_due()  # the held and confirmed emails
    mail_sink.clear()
    patient = as_role("patient")
    before = patient.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert "The clinic will send the video link by email" in before and LINK not in before

    coordinator = as_role("coordinator")
    dashboard = coordinator.get("/coordinator/").get_data(as_text=True)
    assert f'data-testid="no-link-{reference}"' in dashboard  # flagged until a link is set
    response = _set_link(coordinator, booking_id, LINK)
    assert response.status_code == 302
    dashboard = coordinator.get("/coordinator/").get_data(as_text=True)
    assert f'data-testid="no-link-{reference}"' not in dashboard
    with app.app_context():
        assert db.session.get(Booking, booking_id).video_url == LINK
        audit = db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "booking.video_link_set"))
        assert audit is not None and audit.after == {"video_url": LINK}
        outbox.dispatch_due()  # (the request already asked the eager worker to send it)

    [email] = mail_sink.wait_for("patient@example.com")
    assert str(email["Subject"]) == f"Video link for your consultation {reference}"
    text = email.get_body(("plain",)).get_content()
    assert f"Video call link: {LINK}" in text
    html = email.get_body(("html",)).get_content()
    assert f'href="{LINK}"' in html
    ics = next(p for p in email.iter_attachments() if p.get_content_type() == "text/calendar")
    event = Calendar.from_ical(ics.get_content()).walk("VEVENT")[0]
    assert str(event["LOCATION"]) == LINK
    assert int(event["SEQUENCE"]) == 1  # the place changed: calendars replace their copy

    page = patient.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert "Join the video call" in page and f'href="{LINK}"' in page
    api = patient.get(f"/api/v1/bookings/{booking_id}").get_json()
    assert api["video_url"] == LINK


def test_reminders_carry_the_link(app, demo, mail_sink):
    with app.app_context():
        booking = hold(confirm=True)
        coordinator = user("coordinator@sukhumvit-spine.example.com")
        from booking.scheduling import services

        services.set_video_link(coordinator, booking, LINK)
        db.session.commit()
        outbox.dispatch_due()
        mail_sink.clear()
        last_reminder = max(m.due_at for m in db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.about("booking", booking.id), OutboxMessage.kind == "reminder")))
        assert outbox.dispatch_due(last_reminder + timedelta(seconds=1))["sent"] >= 1
    reminders = [m for m in mail_sink.wait_for("patient@example.com")
                 if str(m["Subject"]).startswith("Reminder:")]
    assert reminders
    assert all(f"Video call link: {LINK}" in m.get_body(("plain",)).get_content()
               for m in reminders)


def test_a_link_set_on_a_held_booking_arrives_with_the_confirmation(as_role, app, mail_sink):
    with app.app_context():
        booking_id = hold(consented=True).id
        outbox.dispatch_due()
    mail_sink.clear()
    coordinator = as_role("coordinator")
    assert _set_link(coordinator, booking_id, LINK).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(OutboxMessage).where(
            OutboxMessage.kind == "video_link")) is None  # nothing to tell: the time is held
    patient_page = as_role("patient").get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert LINK not in patient_page  # shown once confirmed
    post_form(coordinator, f"/coordinator/bookings/{booking_id}/confirm", {},
              token_from=f"/bookings/{booking_id}")
    with app.app_context():
        outbox.dispatch_due()
    [email] = mail_sink.wait_for("patient@example.com")
    assert str(email["Subject"]).startswith("Booking confirmed")
    assert f"Video call link: {LINK}" in email.get_body(("plain",)).get_content()


def test_a_bad_link_is_refused_and_what_was_typed_is_kept(as_role, app):
    with app.app_context():
        booking_id = hold(confirm=True).id
    coordinator = as_role("coordinator")
    for typed in ("http://meet.example.org/room", "javascript:alert(1)", "meet.example.org",
                  "https://[meet", "https://zoom us/j/1"):
        response = _set_link(coordinator, booking_id, typed)
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert "starting with https://" in html
        assert f'value="{typed}"' in html
        assert "is-invalid" in html
    empty = _set_link(coordinator, booking_id, "")
    assert empty.status_code == 422 and "This field is required." in empty.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Booking, booking_id).video_url is None
        assert db.session.scalar(select(OutboxMessage).where(
            OutboxMessage.kind == "video_link")) is None


def test_only_the_clinic_sets_a_link_and_only_for_video(app, demo):
    with app.app_context():
        booking_id = hold(confirm=True).id
        in_person_id = hold("patient2@example.com", mode="in_person").id
    other = app.test_client()
    login(other, demo["other_coordinator"], demo["password"])
    response = post_form(other, f"/coordinator/bookings/{booking_id}/video-link", {"url": LINK},
                         token_from="/coordinator/")
    assert response.status_code == 404  # another clinic's booking does not exist for them
    mine = app.test_client()
    login(mine, demo["coordinator"], demo["password"])
    refused = _set_link(mine, in_person_id, LINK)
    assert refused.status_code == 302
    page = mine.get(refused.headers["Location"]).get_data(as_text=True)
    assert "This consultation is in person: it has no video link." in page
    with app.app_context():
        assert db.session.get(Booking, booking_id).video_url is None
        assert db.session.get(Booking, in_person_id).video_url is None


def test_a_cancelled_booking_no_longer_gives_out_its_link(app, demo, mail_sink):
    with app.app_context():
        booking = hold(confirm=True)
        from booking.scheduling import services

        services.set_video_link(user("coordinator@sukhumvit-spine.example.com"), booking, LINK)
        db.session.commit()
        outbox.dispatch_due()
        mail_sink.clear()
        services.cancel(user("patient@example.com"), booking)
        db.session.commit()
        outbox.dispatch_due()
        statuses = {m.kind: m.status for m in db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.about("booking", booking.id)))}
    [email] = mail_sink.wait_for("patient@example.com")
    assert str(email["Subject"]).startswith("Booking cancelled")
    assert LINK not in email.get_body(("plain",)).get_content()
    assert LINK not in email.get_body(("html",)).get_content()
    ics = next(p for p in email.iter_attachments() if p.get_content_type() == "text/calendar")
    event = Calendar.from_ical(ics.get_content()).walk("VEVENT")[0]
    assert event["STATUS"] == "CANCELLED" and LINK not in str(event["LOCATION"])
    assert statuses["reminder"] == "cancelled"


@pytest.mark.parametrize("url", [
    "https://" + "a" * 5000 + ".example.org/room",  # a host no DNS name can be
    "https://" + "a" * 64 + ".example.org/room",  # one label past 63 characters
    "https://localhost/room", "https://exa_mple.org/room", "https://-bad.example.org/",
])
def test_a_link_whose_host_cannot_exist_is_refused(ctx, demo, url):
    from booking.core.errors import Unprocessable
    from booking.scheduling import services

    booking = hold(confirm=True)
    with pytest.raises(Unprocessable):
        services.set_video_link(user("coordinator@sukhumvit-spine.example.com"), booking, url)
