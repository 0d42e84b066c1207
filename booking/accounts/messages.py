"""Account emails, registered with the outbox like every other message: queued in the
transaction that causes them, sent by the worker. Their links are signed when the email is
rendered, so a reset link is bound to the password as it is at sending time."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app
from flask_babel import lazy_gettext as _l

from booking.accounts.models import User
from booking.accounts.tokens import make_invite_token, make_reset_token, make_verify_token
from booking.notifications import services as outbox
from booking.notifications.models import OutboxMessage
from booking.notifications.registry import MessageKind, register_kind


def _absolute(endpoint: str, **values: object) -> str:
    # Built from the URL map, not url_for: the worker renders emails outside any request.
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["BASE_URL"].rstrip("/") + path


#: Shown instead of a signed link when staff preview an email: a preview must not hand out a
#: working verification, reset or invitation link.
PREVIEW_LINK = "https://spinebridge.invalid/link-made-when-sent"


def _signed_link(endpoint: str, make_token: Callable[[User], str]):  # type: ignore[no-untyped-def]
    def context(message: OutboxMessage, _none: None, preview: bool) -> dict:
        if preview:
            return {"link": PREVIEW_LINK}
        return {"link": _absolute(endpoint, token=make_token(message.recipient))}
    return context


def _sign_in_links(message: OutboxMessage, _none: None, preview: bool) -> dict:
    return {"login": _absolute("accounts.login"), "reset": _absolute("accounts.forgot_password")}


def register() -> None:
    """Register the account emails with the outbox (called once by the app factory)."""
    for name, subject, context in (
        ("verify_email", _l("Confirm your email for SpineBridge"),
         _signed_link("accounts.verify_email", make_verify_token)),
        ("already_registered", _l("You already have a SpineBridge account"), _sign_in_links),
        ("reset_password", _l("Reset your SpineBridge password"),
         _signed_link("accounts.reset_password", make_reset_token)),
        ("staff_invite", _l("Your SpineBridge staff account"),
         _signed_link("accounts.reset_password", make_invite_token)),
        ("patient_invite", _l("Your clinic booked you in: choose your SpineBridge password"),
         _signed_link("accounts.reset_password", make_invite_token)),
    ):
        register_kind(MessageKind(name=name, subject=subject, template=name, about=None,
                                  context=context))


def send_verification(user: User) -> None:
    outbox.queue("verify_email", user)


def send_already_registered(user: User) -> None:
    outbox.queue("already_registered", user)


def send_password_reset(user: User) -> None:
    outbox.queue("reset_password", user)


def send_staff_invite(user: User) -> None:
    outbox.queue("staff_invite", user)


def send_patient_invite(user: User) -> None:
    outbox.queue("patient_invite", user)
