"""Account emails, rendered in the recipient's language. Called only after the commit."""

from __future__ import annotations

import logging

from flask import current_app, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_mailman import EmailMultiAlternatives

from booking.accounts.models import User
from booking.accounts.tokens import make_reset_token, make_verify_token

log = logging.getLogger(__name__)


def _absolute(endpoint: str, **values: object) -> str:
    return current_app.config["BASE_URL"].rstrip("/") + url_for(endpoint, **values)


def _language(user: User) -> str:
    return user.language if user.language in current_app.config["LANGUAGES"] else "en"


def _send(user: User, subject: str, template: str, **context: object) -> None:
    with force_locale(_language(user)):
        subject_text = str(subject) if isinstance(subject, str) else subject()
        text = render_template(f"emails/{template}.txt", user=user, **context)
        html = render_template(f"emails/{template}.html", user=user, **context)
    message = EmailMultiAlternatives(
        subject=subject_text,
        body=text,
        from_email=current_app.config["MAIL_DEFAULT_SENDER"],
        to=[user.email],
    )
    message.attach_alternative(html, "text/html")
    try:
        message.send()
    except OSError:
        # The account change is already committed; the user can ask for the email again.
        log.exception("could not send %s email to user %s", template, user.id)


def send_verification(user: User) -> None:
    link = _absolute("accounts.verify_email", token=make_verify_token(user))
    with force_locale(_language(user)):
        subject = _("Confirm your email for SpineBridge")
    _send(user, subject, "verify_email", link=link)


def send_already_registered(user: User) -> None:
    with force_locale(_language(user)):
        subject = _("You already have a SpineBridge account")
    _send(user, subject, "already_registered", login=_absolute("accounts.login"),
          reset=_absolute("accounts.forgot_password"))


def send_password_reset(user: User) -> None:
    link = _absolute("accounts.reset_password", token=make_reset_token(user))
    with force_locale(_language(user)):
        subject = _("Reset your SpineBridge password")
    _send(user, subject, "reset_password", link=link)


def send_staff_invite(user: User) -> None:
    link = _absolute("accounts.reset_password", token=make_reset_token(user))
    with force_locale(_language(user)):
        subject = _("Your SpineBridge staff account")
    _send(user, subject, "staff_invite", link=link)
