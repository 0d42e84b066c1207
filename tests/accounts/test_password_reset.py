"""Forgotten passwords: a single-use, expiring link by email; no hint who is registered."""

from __future__ import annotations

from tests.conftest import login, post_form
from tests.mailsink import first_link


def test_reset_link_sets_a_new_password_once(client, app, demo, mail_sink):
    response = post_form(client, "/forgot-password", {"email": demo["patient"]})
    assert response.status_code == 200
    link = first_link(mail_sink.wait_for(demo["patient"])[0], "/reset-password/")
    path = link.replace(app.config["BASE_URL"], "")

    changed = post_form(client, path, {"password": "brand-new-password", "confirm":
                                       "brand-new-password"})
    assert changed.status_code == 302
    assert login(client, demo["patient"], demo["password"]).status_code == 422
    assert login(app.test_client(), demo["patient"], "brand-new-password").status_code == 302

    reused = client.get(path)
    assert reused.status_code == 400
    assert "already been used" in reused.get_data(as_text=True)


def test_unknown_email_gets_the_same_answer_and_no_mail(client, demo, mail_sink):
    known = post_form(client, "/forgot-password", {"email": demo["patient"]})
    unknown = post_form(client, "/forgot-password", {"email": "ghost@example.org"})
    assert known.status_code == unknown.status_code == 200
    assert "If ghost@example.org has an account" in unknown.get_data(as_text=True)
    mail_sink.wait_for(demo["patient"])
    assert mail_sink.to("ghost@example.org") == []


def test_mismatched_new_passwords_keep_the_form(client, app, demo, mail_sink):
    post_form(client, "/forgot-password", {"email": demo["patient"]})
    path = first_link(mail_sink.wait_for(demo["patient"])[0], "/reset-password/").replace(
        app.config["BASE_URL"], "")
    response = post_form(client, path, {"password": "brand-new-password", "confirm": "other"})
    assert response.status_code == 422
    assert "The passwords differ." in response.get_data(as_text=True)
    assert login(client, demo["patient"], demo["password"]).status_code == 302
