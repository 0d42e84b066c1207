"""Manage links in emails: open without signing in, never act on a GET, cancel after a
confirmation that says what comes back; forged, foreign and expired links are refused."""

from __future__ import annotations

import re
from unittest import mock

from booking.extensions import db
from booking.notifications import services as outbox
from booking.scheduling import links
from booking.scheduling.models import Booking
from tests.conftest import csrf_token
from tests.mailsink import text_of
from tests.scheduling.helpers import hold

LINK = re.compile(r"http://[^\s\"]+/manage/[A-Za-z0-9_.\-]+")


def _link_from_mail(mail_sink, email: str) -> str:
    for message in reversed(mail_sink.wait_for(email, count=1)):
        found = LINK.search(text_of(message))
        if found:
            return found.group(0)
    raise AssertionError("no manage link in the emails")


def test_cancel_from_the_email_link_without_signing_in(app, demo, client, mail_sink):
    with app.app_context():
        booking = hold(confirm=True)
        booking_id, reference = booking.id, booking.reference
        outbox.dispatch_due()  # the confirmation email, with its manage link
        db.session.commit()
    link = _link_from_mail(mail_sink, demo["patient"])
    path = "/manage/" + link.rsplit("/manage/", 1)[1]
    page = client.get(path)
    assert page.status_code == 200 and reference in page.get_data(as_text=True)
    confirm = client.get(path + "/cancel")  # a scanner following links changes nothing
    assert confirm.status_code == 200 and "Yes, cancel this booking" in confirm.get_data(
        as_text=True)
    with app.app_context():
        assert db.session.get(Booking, booking_id).state == "confirmed"
    token = csrf_token(client, path + "/cancel")
    done = client.post(path + "/cancel", data={"csrf_token": token, "reason": "changed plans"})
    assert done.status_code == 302
    with app.app_context():
        cancelled = db.session.get(Booking, booking_id)
        assert cancelled.state == "cancelled_by_patient"
        assert cancelled.cancel_reason == "changed plans"
    after = client.get(path + "/cancel", follow_redirects=True).get_data(as_text=True)
    assert "already cancelled" in after and "Yes, cancel this booking" not in after


def test_forged_foreign_and_expired_links_are_refused(app, demo, client):
    with app.app_context():
        booking = hold()
        token = links.manage_token(booking)
    assert client.get(f"/manage/{token[:-3]}abc").status_code == 404
    assert client.get("/manage/" + "x" * 400).status_code == 404
    assert client.post(f"/manage/{token[:-3]}abc/cancel").status_code in (400, 404)
    with app.app_context():
        later = links.MAX_AGE_DAYS * 86400 + 60
        with mock.patch("itsdangerous.timed.time.time",
                        return_value=__import__("time").time() + later):
            expired = client.get(f"/manage/{token}")
    assert expired.status_code == 404 and "expired" in expired.get_data(as_text=True)
    # A token for one booking never reaches another (ids are signed with the patient).
    with app.app_context():
        serializer = links._serializer()
        forged = serializer.dumps({"b": booking.id, "p": booking.patient_id + 1})
    assert client.get(f"/manage/{forged}").status_code == 404
