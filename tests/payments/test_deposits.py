"""End to end over HTTP: the app calls the Stripe stand-in, the stand-in's hosted page takes
the card and posts signed webhooks back to the app served on 127.0.0.1."""

from __future__ import annotations

import urllib.parse
import urllib.request
from datetime import timedelta

from sqlalchemy import select

from booking.core.types import utcnow
from booking.extensions import db
from booking.payments import webhooks
from booking.payments.models import CheckoutAttempt
from booking.scheduling import lifecycle, services
from booking.scheduling.models import Booking
from tests.conftest import csrf_token, post_form
from tests.mailsink import text_of
from tests.payments.helpers import (
    attempts,
    booking_row,
    control,
    held,
    ledger,
    pay_at_standin,
    session_id_of,
    start_checkout,
)
from tests.scheduling.helpers import ctype_for, user


def _pay_on_hosted_page(url: str, card: str = "4242 4242 4242 4242") -> tuple[int, str]:
    """Submit the stand-in's checkout form as the browser would (no redirect followed)."""
    form = urllib.parse.urlencode({"email": "patient@example.com", "cardNumber": card,
                                   "cardExpiry": "12 / 34", "cardCvc": "123",
                                   "billingName": "Jane Miller"}).encode()

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        answer = opener.open(urllib.request.Request(url, data=form, method="POST"), timeout=15)
        return answer.status, answer.headers.get("Location", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Location", "")


def test_pay_on_hosted_page_confirms_and_sends_the_receipt(app, demo, as_role, stripe_live,
                                                           mail_sink):
    booking_id = held(app)
    patient = as_role("patient")
    page = patient.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert "credited toward your treatment" in page and "Pay the deposit" in page
    assert "7 days or more before: the deposit in full" in page  # the policy, before paying
    answer = start_checkout(patient, booking_id, "USD")
    url = answer.headers["Location"]
    assert url.startswith(stripe_live.url + "/pay/cs_")
    # Asking again while it is open gives the same session.
    assert start_checkout(patient, booking_id, "USD").headers["Location"] == url
    status, back = _pay_on_hosted_page(url, "4000 0000 0000 0002")
    assert status == 402  # declined: nothing changes
    assert booking_row(app, booking_id).state == "held"
    status, back = _pay_on_hosted_page(url)
    assert status == 303 and f"/bookings/{booking_id}/paid?session_id=cs_" in back
    assert booking_row(app, booking_id).state == "confirmed"  # by the webhook, not the redirect
    usd = ledger(app, booking_id)
    assert usd == [("charge", "succeeded", 4350, "USD", "")]  # 1,500 THB × 0.0290
    returned = patient.get(urllib.parse.urlsplit(back).path + "?"
                           + urllib.parse.urlsplit(back).query).get_data(as_text=True)
    assert "Paid — your booking is confirmed" in returned and "$43.50" in returned
    receipt = mail_sink.wait_for(demo["patient"], count=1)
    receipts = [m for m in mail_sink.to(demo["patient"]) if "Deposit received" in m["Subject"]]
    assert receipts and "$43.50" in text_of(receipts[0]) and receipt
    detail = patient.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert 'data-testid="receipt"' in detail and "Paid" in detail


def test_cancelling_three_days_ahead_refunds_half_and_shows_everywhere(
        app, demo, as_role, stripe_live, mail_sink):
    booking_id = held(app, days_ahead=3)
    booking = booking_row(app, booking_id)
    hours = (booking.starts_at - utcnow()).total_seconds() / 3600
    assert 48 <= hours < 168, hours
    patient = as_role("patient")
    session_id = session_id_of(start_checkout(patient, booking_id))
    pay_at_standin(stripe_live, session_id)
    assert booking_row(app, booking_id).state == "confirmed"
    cancel_page = patient.get(f"/bookings/{booking_id}/cancel").get_data(as_text=True)
    assert "750.00" in cancel_page and "50 %" in cancel_page  # what comes back, before
    answer = post_form(patient, f"/bookings/{booking_id}/cancel", {"reason": "flight moved"})
    assert answer.status_code == 302
    stripe_live.flush()
    assert ledger(app, booking_id) == [("charge", "succeeded", 1_500_00, "THB", ""),
                                       ("refund", "succeeded", 750_00, "THB", "policy")]
    refunds = [r for r in stripe_live.requests() if r["path"] == "/v1/refunds"]
    assert len(refunds) == 1 and refunds[0]["params"]["amount"] == "75000"
    page = patient.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert "Partly refunded" in page and "750.00" in page
    mail = [m for m in mail_sink.wait_for(demo["patient"], count=4)
            if "Refund issued" in m["Subject"]]
    assert mail and "750.00" in text_of(mail[0])
    with app.app_context():  # a name a spreadsheet would run as a formula
        user(demo["patient"]).name = "=HYPERLINK(\"http://x\")"
        db.session.commit()
    coordinator = as_role("coordinator")
    csv = coordinator.get("/coordinator/payments.csv").get_data(as_text=True)
    assert booking.reference in csv and "750.00" in csv and "refund" in csv
    assert "'=HYPERLINK" in csv and ",=HYPERLINK" not in csv


def test_payment_after_expiry_on_a_taken_slot_is_refunded_in_full(
        app, demo, as_role, stripe_live, mail_sink):
    booking_id = held(app)
    session_id = session_id_of(start_checkout(as_role("patient"), booking_id))
    paid = pay_at_standin(stripe_live, session_id, deliver=False)  # the webhook is late
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        lifecycle.move(booking, "expired", None)  # the sweep could not ask Stripe
        other = user("patient2@example.com")
        ctype = ctype_for("sukhumvit-spine", "video")
        from tests.scheduling.helpers import screen

        db.session.commit()
        screen("patient2@example.com")
        services.place_hold(other, patient=other, ctype=ctype, doctor_id=booking.doctor_id,
                            start=booking.starts_at)
        db.session.commit()
        db.session.remove()
    event = next(e for e in stripe_live.events() if e["type"] == "checkout.session.completed")
    control(stripe_live, f"/_standin/events/{event['id']}/resend")
    stripe_live.flush()
    assert paid["payment_status"] == "paid"
    assert booking_row(app, booking_id).state == "expired"
    assert ledger(app, booking_id) == [("charge", "succeeded", 1_500_00, "THB", ""),
                                       ("refund", "succeeded", 1_500_00, "THB", "late_payment")]
    told = [m["Subject"] for m in mail_sink.wait_for(demo["patient"], count=3)]
    assert any("being refunded" in s for s in told), told
    clinic = [m["Subject"] for m in mail_sink.to(demo["coordinator"])]
    assert any("needs you" in s for s in clinic), clinic
    dashboard = as_role("coordinator").get("/coordinator/").get_data(as_text=True)
    assert 'data-testid="money-needing"' in dashboard and "after the hold ended" in dashboard


def test_payment_after_expiry_on_a_free_slot_confirms_after_all(app, demo, as_role,
                                                                stripe_live):
    booking_id = held(app)
    session_id = session_id_of(start_checkout(as_role("patient"), booking_id))
    pay_at_standin(stripe_live, session_id, deliver=False)
    with app.app_context():
        lifecycle.move(db.session.get(Booking, booking_id), "expired", None)
        db.session.commit()
    event = next(e for e in stripe_live.events() if e["type"] == "checkout.session.completed")
    control(stripe_live, f"/_standin/events/{event['id']}/resend")
    assert booking_row(app, booking_id).state == "confirmed"
    assert [k for k, *_ in ledger(app, booking_id)] == ["charge"]


def test_the_sweep_closes_the_session_before_freeing_the_slot(app, demo, as_role, stripe_live):
    booking_id = held(app)
    session_id = session_id_of(start_checkout(as_role("patient"), booking_id))
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        freed = services.expire_holds(now=booking.hold_expires_at + timedelta(seconds=1))
        db.session.commit()
    assert freed == [booking_id]
    assert attempts(app, booking_id) == [(session_id, "expired")]
    assert any(r["path"] == f"/v1/checkout/sessions/{session_id}/expire"
               for r in stripe_live.requests())
    # The hosted page no longer takes money.
    status, _ = _pay_on_hosted_page(f"{stripe_live.url}/pay/{session_id}")
    assert status in (400, 410)


def test_the_sweep_confirms_a_hold_paid_whose_webhook_never_came(app, demo, as_role,
                                                                 stripe_live):
    booking_id = held(app)
    session_id = session_id_of(start_checkout(as_role("patient"), booking_id))
    pay_at_standin(stripe_live, session_id, deliver=False)
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        assert services.expire_holds(now=booking.hold_expires_at + timedelta(seconds=1)) == []
        db.session.commit()
    assert booking_row(app, booking_id).state == "confirmed"


def test_reconciliation_finds_a_payment_whose_webhook_never_came(app, demo, as_role,
                                                                 stripe_live):
    booking_id = held(app)
    session_id = session_id_of(start_checkout(as_role("patient"), booking_id))
    pay_at_standin(stripe_live, session_id, deliver=False)
    with app.app_context():
        attempt = db.session.scalar(select(CheckoutAttempt))
        done = webhooks.reconcile(now=attempt.expires_at + timedelta(minutes=5))
        db.session.commit()
    assert done["sessions"] == 1
    assert booking_row(app, booking_id).state == "confirmed"


def test_coordinator_refunds_with_a_reason_never_past_what_is_left(app, demo, as_role,
                                                                    stripe_live):
    booking_id = held(app)
    session_id = session_id_of(start_checkout(as_role("patient"), booking_id))
    pay_at_standin(stripe_live, session_id)
    coordinator = as_role("coordinator")
    page = coordinator.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert 'data-testid="refund-form"' in page
    token = csrf_token(coordinator, f"/bookings/{booking_id}")
    path = f"/coordinator/bookings/{booking_id}/refund"
    too_much = coordinator.post(path, data={"csrf_token": token, "amount": "1500.01",
                                            "reason": "goodwill", "key": "k1"},
                                follow_redirects=True).get_data(as_text=True)
    assert "At most" in too_much
    no_reason = coordinator.post(path, data={"csrf_token": token, "amount": "100",
                                             "key": "k2"}, follow_redirects=True)
    assert "Say why" in no_reason.get_data(as_text=True)
    for _ in range(2):  # a double click is one refund
        coordinator.post(path, data={"csrf_token": token, "amount": "1,000",
                                     "reason": "doctor ran late", "key": "k3"})
    stripe_live.flush()
    assert ledger(app, booking_id)[1:] == [("refund", "succeeded", 1_000_00, "THB", "manual")]
    coordinator.post(path, data={"csrf_token": token, "amount": "500", "reason": "rest",
                                 "key": "k4"})
    assert [r[2] for r in ledger(app, booking_id)] == [1_500_00, 1_000_00, 500_00]
    last = coordinator.post(path, data={"csrf_token": token, "amount": "1", "reason": "x",
                                        "key": "k5"}, follow_redirects=True)
    assert "Nothing is left to refund" in last.get_data(as_text=True)
    assert "Refunded" in as_role("patient").get(f"/bookings/{booking_id}").get_data(
        as_text=True)


def test_a_refund_stripe_fails_is_shown_as_failed(app, demo, as_role, stripe_live, mail_sink):
    booking_id = held(app)
    session_id = session_id_of(start_checkout(as_role("patient"), booking_id))
    pay_at_standin(stripe_live, session_id)
    stripe_live.fail_next_refund()
    coordinator = as_role("coordinator")
    post_form(coordinator, f"/coordinator/bookings/{booking_id}/refund",
              {"amount": "200", "reason": "goodwill", "key": "f1"},
              token_from=f"/bookings/{booking_id}")
    stripe_live.flush()
    assert ledger(app, booking_id)[1][:2] == ("refund", "failed")
    page = coordinator.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert 'data-testid="refund-failed"' in page
    dashboard = coordinator.get("/coordinator/").get_data(as_text=True)
    assert "Payments that need you" in dashboard and "failed" in dashboard
    subjects = [m["Subject"] for m in mail_sink.wait_for(demo["coordinator"], count=1)]
    assert any("needs you" in s for s in subjects), subjects


def test_checkout_waits_for_consent_and_belongs_to_the_patient(app, demo, as_role, stripe_live):
    with app.app_context():
        from tests.scheduling.helpers import first_free

        ctype = ctype_for("sukhumvit-spine", "video")
        slot = first_free(ctype)
        patient = user(demo["patient"])
        booking = services.place_hold(patient, patient=patient, ctype=ctype,
                                      doctor_id=slot.doctor_id, start=slot.start)
        db.session.commit()
        booking_id = booking.id
    patient_client = as_role("patient")
    refused = start_checkout(patient_client, booking_id)
    assert refused.status_code == 302
    assert "Before paying, please finish" in patient_client.get(
        f"/bookings/{booking_id}").get_data(as_text=True)
    assert start_checkout(as_role("patient2"), booking_id).status_code == 404
    assert not [r for r in stripe_live.requests() if r["path"] == "/v1/checkout/sessions"]
