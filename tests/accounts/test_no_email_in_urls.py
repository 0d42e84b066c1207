"""A patient's email never lands in a URL (and so in an access log): after confirming the
address or resetting the password, the sign-in form is pre-filled from the session."""

from __future__ import annotations

from urllib.parse import unquote

from tests.accounts.test_registration import GOOD, register
from tests.conftest import location_path, post_form
from tests.mailsink import first_link


def _assert_no_email(response, email: str) -> None:
    location = unquote(response.headers["Location"]).lower()
    assert email.lower() not in location and "@" not in location
    assert location_path(response) == "/login"


def test_confirming_an_email_prefills_the_login_without_the_email_in_the_url(client, app,
                                                                             mail_sink):
    register(client)
    link = first_link(mail_sink.wait_for("maria.lopez@example.org")[0], "/verify/")
    verified = client.get(link.replace(app.config["BASE_URL"], ""))
    assert verified.status_code == 302
    _assert_no_email(verified, GOOD["email"])
    page = client.get("/login").get_data(as_text=True)
    assert 'value="maria.lopez@example.org"' in page
    assert "your email is confirmed" in page
    # Shown once: a later visit to the form starts empty.
    assert 'value="maria.lopez@example.org"' not in client.get("/login").get_data(as_text=True)


def test_resetting_a_password_prefills_the_login_without_the_email_in_the_url(client, app, demo,
                                                                              mail_sink):
    post_form(client, "/forgot-password", {"email": demo["patient"]})
    link = first_link(mail_sink.wait_for(demo["patient"])[0], "/reset-password/")
    changed = post_form(client, link.replace(app.config["BASE_URL"], ""),
                        {"password": "brand-new-password", "confirm": "brand-new-password"})
    assert changed.status_code == 302
    _assert_no_email(changed, demo["patient"])
    assert f'value="{demo["patient"]}"' in client.get("/login").get_data(as_text=True)


def test_an_email_in_the_login_url_is_not_used(client):
    page = client.get("/login?email=someone%40example.org").get_data(as_text=True)
    assert "someone@example.org" not in page
