"""What the trip sends: the pickup details 48 hours before landing (sent once per plan; a new
flight or driver replaces them), "your itinerary changed" with the calendar file, and the
clinic's alert when a flight changes close to landing. Sent through the outbox to a real SMTP
sink."""

from __future__ import annotations

from datetime import date, timedelta

from icalendar import Calendar
from sqlalchemy import select

from booking.core.zones import CLINIC_ZONE
from booking.extensions import db
from booking.notifications import services as outbox
from booking.notifications.models import OutboxMessage
from booking.travel import services
from tests.scheduling.helpers import user
from tests.travel.helpers import bangkok, make_trip

PATIENT = "patient@example.com"
COORDINATOR = "coordinator@sukhumvit-spine.example.com"
OTHER_CLINIC = "coordinator@silom-pain-rehab.example.com"


def _pending(kind: str) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == kind, OutboxMessage.status == "pending")))


def test_pickup_details_are_due_48_hours_before_landing_and_follow_a_new_flight(ctx, demo):
    trip = make_trip(flights=False)
    patient = user(PATIENT)
    landing = bangkok(date.today() + timedelta(days=20), 7, 30)
    services.save_flight(patient, trip, "arrival", code="TG 917", airport="BKK",
                         scheduled_at=landing)
    assert _pending("trip_pickup_details") == []  # no pickup asked for yet
    services.save_pickup(patient, trip, wanted=True, vehicle="van", luggage=2)
    db.session.commit()
    [notice] = _pending("trip_pickup_details")
    assert notice.due_at == landing - timedelta(hours=48)
    later = landing + timedelta(days=1)
    services.save_flight(patient, trip, "arrival", code="TG 917", airport="BKK",
                         scheduled_at=later)
    db.session.commit()
    [notice] = _pending("trip_pickup_details")
    assert notice.due_at == later - timedelta(hours=48)
    assert db.session.scalar(select(OutboxMessage).where(
        OutboxMessage.kind == "trip_pickup_details",
        OutboxMessage.status == "cancelled")) is not None


def test_pickup_details_email_names_the_driver(ctx, demo, mail_sink):
    trip = make_trip(flights=False)
    patient = user(PATIENT)
    landing = bangkok(date.today() + timedelta(days=20), 7, 30)
    services.save_flight(patient, trip, "arrival", code="TG 917", airport="BKK",
                         scheduled_at=landing)
    services.save_pickup(patient, trip, wanted=True, vehicle="sedan", luggage=1)
    trip.pickup_status, trip.pickup_driver = "confirmed", "Somsak P."
    trip.pickup_driver_phone, trip.pickup_vehicle_plate = "+66812345678", "1กข 2345"
    services.itinerary_changed.send(trip, actor=None, what="pickup_confirmed")
    db.session.commit()
    outbox.dispatch_due(now=landing - timedelta(hours=47))
    emails = [m for m in mail_sink.wait_for(PATIENT, count=1)
              if str(m["Subject"]) == "Your airport pickup in Bangkok"]
    assert emails, [str(m["Subject"]) for m in mail_sink.to(PATIENT)]
    text = emails[0].get_body(("plain",)).get_content()
    assert "Somsak P." in text and "+66812345678" in text and "TG 917" in text
    # Sent once for this plan: asking again queues nothing new.
    from booking.travel.messages import schedule_pickup_notice

    assert schedule_pickup_notice(trip) is None


def test_itinerary_changed_email_carries_the_calendar_file(ctx, demo, mail_sink):
    make_trip()
    db.session.commit()
    [message] = _pending("trip_itinerary_changed")  # several changes, one email
    outbox.dispatch_due(now=message.due_at)
    email = next(m for m in mail_sink.wait_for(PATIENT, count=1)
                 if str(m["Subject"]) == "Your Bangkok itinerary has changed")
    text = email.get_body(("plain",)).get_content()
    assert "TG 917" in text and "TG 918" in text and "Bangkok" in text
    [ics] = [part for part in email.iter_attachments()
             if part.get_content_type() == "text/calendar"]
    calendar = Calendar.from_ical(ics.get_content())
    summaries = [str(e["summary"]) for e in calendar.walk("VEVENT")]
    assert "Land in Bangkok: TG 917" in summaries and "Flight home: TG 918" in summaries


def test_a_flight_changed_within_72_hours_of_landing_tells_the_clinic(ctx, demo, mail_sink):
    trip = make_trip(flights=False)
    patient = user(PATIENT)
    day = trip.bookings[0].starts_at.astimezone(CLINIC_ZONE).date()
    far = bangkok(date.today() + timedelta(days=20), 7, 30)
    services.save_flight(patient, trip, "arrival", code="TG 917", airport="BKK",
                         scheduled_at=far)
    db.session.commit()
    assert _pending("clinic_flight_changed") == []  # three weeks away: no alert
    soon = bangkok(day - timedelta(days=1), 9, 0)
    services.save_flight(patient, trip, "arrival", code="TG 919", airport="DMK",
                         scheduled_at=soon)
    db.session.commit()
    outbox.dispatch_due()
    [alert] = [m for m in mail_sink.wait_for(COORDINATOR)
               if str(m["Subject"]) == "A flight changed close to landing"]
    text = alert.get_body(("plain",)).get_content()
    assert "Jane Miller now lands on TG 919" in text and "/clinic/travel" in text
    assert mail_sink.to(OTHER_CLINIC) == []


def test_changing_a_confirmed_pickups_flight_asks_to_confirm_again(ctx, demo):
    trip = make_trip()
    trip.pickup_status = "confirmed"
    db.session.commit()
    patient = user(PATIENT)
    arrival = trip.arrival.scheduled_at
    services.save_flight(patient, trip, "arrival", code="TG 917", airport="BKK",
                         scheduled_at=arrival + timedelta(hours=3))
    db.session.commit()
    assert trip.pickup_status == "reconfirm"
