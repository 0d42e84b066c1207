"""Account emails go through the outbox like every other message: queued in the transaction
that causes them, sent by the worker. Their links are signed when the email is rendered, so a
reset link is bound to the password as it is at sending time."""

from __future__ import annotations

from flask import current_app

from booking.accounts.models import User
from booking.accounts.tokens import make_invite_token, make_reset_token, make_verify_token
from booking.notifications.services import queue_for_user


def _absolute(endpoint: str, **values: object) -> str:
    # Built from the URL map, not url_for: the worker renders emails outside any request.
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["BASE_URL"].rstrip("/") + path


#: Shown instead of a signed link when staff preview an email: a preview must not hand out a
#: working verification, reset or invitation link.
PREVIEW_LINK = "https://spinebridge.invalid/link-made-when-sent"


def context_for(kind: str, user: User, *, preview: bool = False) -> dict:
    """What an account email's template needs, built when it is sent."""
    if preview and kind in ("verify_email", "reset_password", "staff_invite"):
        return {"link": PREVIEW_LINK}
    if kind == "verify_email":
        return {"link": _absolute("accounts.verify_email", token=make_verify_token(user))}
    if kind == "reset_password":
        return {"link": _absolute("accounts.reset_password", token=make_reset_token(user))}
    if kind == "staff_invite":
        return {"link": _absolute("accounts.reset_password", token=make_invite_token(user))}
    if kind == "already_registered":
        return {"login": _absolute("accounts.login"),
                "reset": _absolute("accounts.forgot_password")}
    raise ValueError(kind)


def send_verification(user: User) -> None:
    queue_for_user("verify_email", user)


def send_already_registered(user: User) -> None:
    queue_for_user("already_registered", user)


def send_password_reset(user: User) -> None:
    queue_for_user("reset_password", user)


def send_staff_invite(user: User) -> None:
    queue_for_user("staff_invite", user)
