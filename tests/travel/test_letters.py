"""Visa support letters through the pages: the patient requests one once the deposit is paid
and the passport and flights are on the trip; the clinic issues it (the patient is emailed the
PDF), declines it with a reason, or revokes it; an embassy checks it at
/verify-letter/<token>."""

from __future__ import annotations

import re
import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from booking.core.audit import AuditEvent
from booking.core.zones import CLINIC_ZONE
from booking.extensions import db
from booking.notifications import services as outbox
from booking.notifications.models import OutboxMessage
from booking.scheduling.models import Booking
from booking.travel import letters, people, services
from booking.travel.models import Trip, VisaLetter
from tests.conftest import csrf_token, location_path, post_form
from tests.payments.conftest import deliver, stripe_quiet  # noqa: F401 (a fixture)
from tests.scheduling.helpers import user
from tests.travel.helpers import bangkok, make_trip, paid_booking

PATIENT = "patient@example.com"
NUMBER_RE = re.compile(r"^SBV-\d{4}-[34679ACDEFGHJKMNPQRTUVWXY]{6}$")


# Building a trip whose deposit was really paid ------------------------------------------------

def paid_trip(app, as_role, standin, *, flights: bool = True, passport: bool = True,
              companion: bool = False, email: str = PATIENT) -> int:
    """An in-person hold paid through Checkout at the stand-in (its signed webhook confirms
    it), then its trip, filled in through the travel services; the trip's id."""
    booking_id = paid_booking(app, as_role, standin, email)
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        patient = user(email)
        trip = services.plan_trip(patient, booking)
        day = booking.starts_at.astimezone(CLINIC_ZONE).date()
        if flights:
            services.save_flight(patient, trip, "arrival", code="TG 917", airport="BKK",
                                 scheduled_at=bangkok(day - timedelta(days=2), 7, 30))
            services.save_flight(patient, trip, "departure", code="TG 918", airport="BKK",
                                 scheduled_at=bangkok(day + timedelta(days=5), 23, 55))
        if passport:
            people.save_passport(patient, trip, nationality="US", number="X12345678",
                                   expiry=date.today() + timedelta(days=3 * 365))
        if companion:
            people.add_companion(patient, trip, name="Tom Miller", relationship="spouse",
                                   nationality="GB", passport_number="Y87654321",
                                   passport_expiry=date.today() + timedelta(days=4 * 365))
        db.session.commit()
        trip_id = trip.id
        outbox.dispatch_due()  # the booking's own emails, out of the way
        db.session.remove()
    return trip_id


def page(client, trip_id: int) -> str:
    return client.get(f"/trips/{trip_id}/letter").get_data(as_text=True)


def ask(client, trip_id: int):
    return post_form(client, f"/trips/{trip_id}/letter", {}, follow_redirects=True)


def act(client, trip_id: int, letter_id: int, action: str, reason: str | None = None, **kw):
    data = {} if reason is None else {"reason": reason}
    return post_form(client, f"/letters/{letter_id}/{action}", data,
                     token_from=f"/trips/{trip_id}/letter", **kw)


def the_letter(app, trip_id: int) -> VisaLetter:
    with app.app_context():
        letter = db.session.scalars(select(VisaLetter).where(VisaLetter.trip_id == trip_id)
                                    .order_by(VisaLetter.id.desc())).first()
        db.session.expunge(letter)
        return letter


def actions(app, action: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.action == action))


def mails(app, mail_sink, address: str, count: int = 1):  # noqa: ANN201
    with app.app_context():
        outbox.dispatch_due()
    return mail_sink.wait_for(address, count)


# Requesting ----------------------------------------------------------------------------------

def test_request_is_refused_until_deposit_passport_and_flights_are_there(app, demo, as_role,
                                                                         stripe_quiet):  # noqa: F811
    with app.app_context():
        unpaid = make_trip(flights=False, passport=False).id  # confirmed by hand: no deposit
    patient = as_role("patient")
    html = page(patient, unpaid)
    assert 'data-testid="letter-missing"' in html and 'data-testid="letter-request"' not in html
    answer = ask(patient, unpaid).get_data(as_text=True)
    assert ("Before you can request a visa letter, add the deposit paid for one of your "
            "consultations, your passport details, your flight to Bangkok and your flight "
            "home.") in answer
    with app.app_context():
        db.session.execute(db.delete(Trip))  # (one open trip per patient)
        db.session.commit()

    trip_id = paid_trip(app, as_role, stripe_quiet, passport=False)
    html = ask(patient, trip_id).get_data(as_text=True)
    assert "Before you can request a visa letter, add your passport details." in html
    with app.app_context():
        assert db.session.scalar(select(func.count(VisaLetter.id))) == 0


def test_a_second_request_is_refused_while_the_first_is_open(app, demo, as_role, stripe_quiet):  # noqa: F811
    trip_id = paid_trip(app, as_role, stripe_quiet)
    patient = as_role("patient")
    html = ask(patient, trip_id).get_data(as_text=True)
    assert "Your visa letter is requested" in html
    assert "The clinic reviews it, usually within 1 working day; you get an email" in html
    assert 'data-testid="letter-request"' not in html  # no button while it is in play
    again = post_form(patient, f"/trips/{trip_id}/letter", {}, token_from="/bookings",
                      follow_redirects=True).get_data(as_text=True)
    assert "You have already requested a visa letter for this trip" in again
    with app.app_context():
        assert db.session.scalar(select(func.count(VisaLetter.id))) == 1


# The whole way: request, issue, email, download, verify, revoke ------------------------------

def test_issued_letter_is_emailed_downloaded_verified_then_revoked(app, demo, as_role,
                                                                   mail_sink, stripe_quiet):  # noqa: F811
    trip_id = paid_trip(app, as_role, stripe_quiet, companion=True)
    mail_sink.clear()
    patient, coordinator = as_role("patient"), as_role("coordinator")
    ask(patient, trip_id)
    [request_mail] = mails(app, mail_sink, demo["coordinator"])
    assert str(request_mail["Subject"]) == "Visa letter requested: Jane Miller"
    letter = the_letter(app, trip_id)
    assert letter.state == "requested" and NUMBER_RE.match(letter.number)

    html = page(coordinator, trip_id)
    assert 'data-testid="letter-issue-form"' in html and "Jane Miller asked for it" in html
    done = act(coordinator, trip_id, letter.id, "issue", follow_redirects=True)
    assert "The letter is issued" in done.get_data(as_text=True)
    assert actions(app, "letter.issued") == 1

    [issued_mail] = mails(app, mail_sink, PATIENT)
    assert str(issued_mail["Subject"]) == f"Your visa support letter {letter.number}"
    [attached] = [p for p in issued_mail.iter_attachments()
                  if p.get_content_type() == "application/pdf"]
    assert attached.get_filename() == f"visa-letter-{letter.number}.pdf"
    assert attached.get_content().startswith(b"%PDF")
    assert f"/verify-letter/{letter.token}" in issued_mail.get_body(("plain",)).get_content()

    html = page(patient, trip_id)
    assert 'data-testid="letter-download"' in html and letter.number in html
    pdf = patient.get(f"/letters/{letter.id}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert "no-store" in pdf.headers["Cache-Control"]
    assert letter.number in pdf.headers["Content-Disposition"]
    assert coordinator.get(f"/letters/{letter.id}.pdf").status_code == 200
    assert as_role("admin").get(f"/letters/{letter.id}.pdf").status_code == 200
    assert actions(app, "letter.downloaded") == 3

    # The patient changes the passport afterwards: the letter stays as it was issued.
    with app.app_context():
        people.save_passport(user(PATIENT), db.session.get(Trip, trip_id),
                               nationality="CA", number="Z99999111",
                               expiry=date.today() + timedelta(days=900))
        db.session.commit()
    anonymous = as_role("anonymous")
    verify = anonymous.get(f"/verify-letter/{letter.token}")
    html = verify.get_data(as_text=True)
    assert verify.status_code == 200, html[-3000:]
    assert 'data-status="valid"' in html and "VALID" in html and "REVOKED" not in html
    assert "Jane Miller" in html and "Tom Miller" in html
    assert "United States" in html and "United Kingdom" in html
    assert "••••••678" in html and "••••••321" in html
    assert "X12345678" not in html and "Y87654321" not in html and "111" not in html
    assert "Canada" not in html
    assert letter.number in html and "Sukhumvit Spine" in html
    assert "MOPH licence 10110-DEMO-001" in html
    assert verify.headers["X-Robots-Tag"].startswith("noindex")
    assert verify.headers["Referrer-Policy"] == "no-referrer"
    assert verify.headers["Cache-Control"] == "no-store"

    mail_sink.clear()
    done = act(coordinator, trip_id, letter.id, "revoke", "The patient cancelled the trip.",
               follow_redirects=True)
    assert "The letter is revoked" in done.get_data(as_text=True)
    html = anonymous.get(f"/verify-letter/{letter.token}").get_data(as_text=True)
    assert 'data-status="revoked"' in html and "REVOKED" in html and "NOT valid" in html
    assert patient.get(f"/letters/{letter.id}.pdf").status_code == 404  # no longer handed out
    [revoked_mail] = mails(app, mail_sink, PATIENT)
    assert "revoked" in str(revoked_mail["Subject"])
    assert "The patient cancelled the trip." in revoked_mail.get_body(("plain",)).get_content()
    html = page(patient, trip_id)
    assert "was revoked" in html and 'data-testid="letter-request"' in html  # may ask anew


def test_declined_letter_shows_the_reason_and_may_be_requested_again(app, demo, as_role,
                                                                     mail_sink, stripe_quiet):  # noqa: F811
    trip_id = paid_trip(app, as_role, stripe_quiet)
    patient, coordinator = as_role("patient"), as_role("coordinator")
    ask(patient, trip_id)
    first = the_letter(app, trip_id)
    mail_sink.clear()
    reason = "The passport expiry does not match the scan.\nCorrect it, then ask again."
    done = act(coordinator, trip_id, first.id, "decline", reason, follow_redirects=True)
    assert "The request is declined" in done.get_data(as_text=True)
    [declined] = mails(app, mail_sink, PATIENT)
    assert "The passport expiry does not match the scan." in declined.get_body(
        ("plain",)).get_content()
    html = page(patient, trip_id)
    assert "The passport expiry does not match the scan.<br>Correct it, then ask again." in html
    assert 'data-testid="letter-request"' in html
    assert "Your visa letter is requested" in ask(patient, trip_id).get_data(as_text=True)
    second = the_letter(app, trip_id)
    assert second.id != first.id and second.state == "requested"
    assert second.number != first.number and second.token != first.token
    # The old decision cannot be replayed on the declined letter.
    again = act(coordinator, trip_id, first.id, "issue", follow_redirects=True)
    assert "This letter has already been declined." in again.get_data(as_text=True)


# Who may ------------------------------------------------------------------------------------

def test_others_get_404_and_anonymous_goes_to_sign_in(app, demo, as_role, stripe_quiet):  # noqa: F811
    trip_id = paid_trip(app, as_role, stripe_quiet)
    ask(as_role("patient"), trip_id)
    letter = the_letter(app, trip_id)
    for role in ("patient2", "other_coordinator"):
        client = as_role(role)
        assert client.get(f"/trips/{trip_id}/letter").status_code == 404
        assert client.get(f"/letters/{letter.id}.pdf").status_code == 404
        for action in ("issue", "decline", "revoke"):
            answer = post_form(client, f"/letters/{letter.id}/{action}", {"reason": "x"},
                               token_from="/")
            assert answer.status_code == 404, (role, action)
    anonymous = as_role("anonymous")
    answer = anonymous.get(f"/letters/{letter.id}.pdf")
    assert answer.status_code == 302 and location_path(answer) == "/login"
    # The patient cannot issue their own letter; an admin cannot issue either (not a signatory).
    for role in ("patient", "admin"):
        answer = act(as_role(role), trip_id, letter.id, "issue", follow_redirects=True)
        assert "coordinators can issue a visa letter" in answer.get_data(as_text=True), role
    assert the_letter(app, trip_id).state == "requested"
    assert as_role("patient2").post(f"/trips/{trip_id}/letter", data={
        "csrf_token": csrf_token(as_role("patient2"), "/")}).status_code in (400, 404)


def test_an_admin_may_revoke_an_issued_letter(app, demo, as_role, stripe_quiet):  # noqa: F811
    trip_id = paid_trip(app, as_role, stripe_quiet)
    ask(as_role("patient"), trip_id)
    letter = the_letter(app, trip_id)
    act(as_role("coordinator"), trip_id, letter.id, "issue")
    admin = as_role("admin")
    assert 'data-testid="letter-revoke-form"' in page(admin, trip_id)
    answer = act(admin, trip_id, letter.id, "revoke", "Reported as misused.",
                 follow_redirects=True)
    assert "The letter is revoked" in answer.get_data(as_text=True)
    assert the_letter(app, trip_id).state == "revoked"


# Reasons ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("reason", "says", "status"), [
    ("", "Write the reason", 200),
    ("   \n ", "Write the reason", 200),
    ("x" * 100_000, "up to 500 characters", 200),
    ("Passport\x00number", "a character we cannot accept", 400),
])
def test_a_bad_reason_is_refused_with_a_clear_message(app, demo, as_role, stripe_quiet,  # noqa: F811
                                                      reason, says, status):
    trip_id = paid_trip(app, as_role, stripe_quiet)
    ask(as_role("patient"), trip_id)
    letter = the_letter(app, trip_id)
    answer = act(as_role("coordinator"), trip_id, letter.id, "decline", reason,
                 follow_redirects=True)
    assert answer.status_code == status
    assert says in answer.get_data(as_text=True)
    assert the_letter(app, trip_id).state == "requested"


# Verification --------------------------------------------------------------------------------

def test_unknown_and_unissued_tokens_get_the_same_404(app, demo, as_role, stripe_quiet):  # noqa: F811
    trip_id = paid_trip(app, as_role, stripe_quiet)
    ask(as_role("patient"), trip_id)
    requested = the_letter(app, trip_id)
    anonymous = as_role("anonymous")
    unknown = anonymous.get("/verify-letter/" + "A" * 43)
    unissued = anonymous.get(f"/verify-letter/{requested.token}")
    huge = anonymous.get("/verify-letter/" + "B" * 500)
    assert unknown.status_code == unissued.status_code == huge.status_code == 404
    assert unknown.data == unissued.data == huge.data
    assert b"No letter with this code" in unknown.data
    assert unissued.headers["X-Robots-Tag"].startswith("noindex")
    assert unissued.headers["Cache-Control"] == "no-store"


def test_verification_is_rate_limited(app, demo, as_role):
    anonymous = as_role("anonymous")
    answers = [anonymous.get(f"/verify-letter/unknown{i}").status_code for i in range(31)]
    assert answers[:30] == [404] * 30 and answers[30] == 429


def test_verification_page_says_nothing_medical(app, demo, as_role, stripe_quiet):  # noqa: F811
    trip_id = paid_trip(app, as_role, stripe_quiet)
    with app.app_context():
        trip = db.session.get(Trip, trip_id)
        treatment = trip.clinic.treatments[0]
        services.save_needs(user(PATIENT), trip, interpreter_language=None,
                            mobility_needs="Wheelchair at the airport",
                            dietary_needs="", treatment_id=treatment.id)
        db.session.commit()
        treatment_name = treatment.name
        booking = trip.bookings[0]
        medical = [treatment_name, booking.consultation_type.name,
                   *[c.name for c in treatment.conditions], "Wheelchair",
                   booking.doctor.specialty]
    ask(as_role("patient"), trip_id)
    letter = the_letter(app, trip_id)
    act(as_role("coordinator"), trip_id, letter.id, "issue")
    html = as_role("anonymous").get(f"/verify-letter/{letter.token}").get_data(as_text=True)
    assert 'data-status="valid"' in html
    for word in medical:
        assert word and word not in html, word


# Twice at once -------------------------------------------------------------------------------

def _at_once(app, clients, send) -> list:  # noqa: ANN001
    barrier = threading.Barrier(len(clients))
    answers: list = []

    def run(client) -> None:  # noqa: ANN001
        barrier.wait()
        answers.append(send(client))

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def test_two_issues_at_once_issue_once(app, demo, as_role, stripe_quiet):  # noqa: F811
    trip_id = paid_trip(app, as_role, stripe_quiet)
    ask(as_role("patient"), trip_id)
    letter = the_letter(app, trip_id)
    clients = [as_role("coordinator"), as_role("coordinator")]
    tokens = {id(c): csrf_token(c, f"/trips/{trip_id}/letter") for c in clients}
    answers = _at_once(app, clients, lambda c: c.post(
        f"/letters/{letter.id}/issue", data={"csrf_token": tokens[id(c)]},
        follow_redirects=True).get_data(as_text=True))
    said = sorted("issued" if "The letter is issued" in a else
                  "already" if f"already been issued ({letter.number})" in a else a[:200]
                  for a in answers)
    assert said == ["already", "issued"]
    assert actions(app, "letter.issued") == 1
    with app.app_context():
        assert db.session.scalar(select(func.count(OutboxMessage.id)).where(
            OutboxMessage.kind == "letter_issued")) == 1


def test_two_requests_at_once_make_one_letter(app, demo, as_role, stripe_quiet):  # noqa: F811
    trip_id = paid_trip(app, as_role, stripe_quiet)
    clients = [as_role("patient"), as_role("patient")]
    tokens = {id(c): csrf_token(c, f"/trips/{trip_id}/letter") for c in clients}
    answers = _at_once(app, clients, lambda c: c.post(
        f"/trips/{trip_id}/letter", data={"csrf_token": tokens[id(c)]},
        follow_redirects=True).get_data(as_text=True))
    assert sum("Your visa letter is requested" in a for a in answers) == 1
    assert sum("You have already requested" in a for a in answers) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count(VisaLetter.id))) == 1
    assert actions(app, "letter.requested") == 1


# Numbers ------------------------------------------------------------------------------------

def test_numbers_read_unambiguously_and_tokens_are_long(app):
    with app.app_context():
        numbers = {letters.new_number() for _i in range(2000)}
    assert len(numbers) == 2000
    assert all(NUMBER_RE.match(n) for n in numbers)
    assert not any(ch in n[9:] for n in numbers for ch in "0O1IL2Z5S8B")


def test_each_letter_has_its_own_number_and_token(app, demo, as_role, stripe_quiet):  # noqa: F811
    trip_id = paid_trip(app, as_role, stripe_quiet)
    patient, coordinator = as_role("patient"), as_role("coordinator")
    for _i in range(3):
        ask(patient, trip_id)
        act(coordinator, trip_id, the_letter(app, trip_id).id, "decline", "Not yet.")
    with app.app_context():
        rows = db.session.execute(select(VisaLetter.number, VisaLetter.token)).all()
    assert len(rows) == 3
    assert len({n for n, _t in rows}) == 3 and len({t for _n, t in rows}) == 3
    assert all(len(t) >= 43 for _n, t in rows)


def test_each_check_of_a_letter_is_in_the_audit_trail(app, demo, as_role, stripe_quiet):  # noqa: F811
    trip_id = paid_trip(app, as_role, stripe_quiet)
    ask(as_role("patient"), trip_id)
    letter = the_letter(app, trip_id)
    act(as_role("coordinator"), trip_id, letter.id, "issue")
    anonymous = as_role("anonymous")
    assert anonymous.get(f"/verify-letter/{letter.token}").status_code == 200
    assert anonymous.get(f"/verify-letter/{letter.token}").status_code == 200
    assert anonymous.get("/verify-letter/" + "A" * 43).status_code == 404
    with app.app_context():
        assert actions(app, "letter.verified") == 2
        from booking.core.audit import sentences

        said = sentences(db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "letter.verified")).all())
        assert any("The system showed the verification page of visa letter" in s
                   for s in said.values()), said


def test_revoking_keeps_who_issued_the_letter(app, demo, as_role, stripe_quiet):  # noqa: F811
    trip_id = paid_trip(app, as_role, stripe_quiet)
    ask(as_role("patient"), trip_id)
    letter = the_letter(app, trip_id)
    act(as_role("coordinator"), trip_id, letter.id, "issue")
    act(as_role("admin"), trip_id, letter.id, "revoke", reason="Issued by mistake.")
    with app.app_context():
        revoked = db.session.get(VisaLetter, letter.id)
        assert revoked.state == "revoked"
        assert revoked.decided_by.email == demo["coordinator"]
