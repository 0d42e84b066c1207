"""The mail server, over one SMTP session per worker process (reused between emails and
batches; opening one per email costs more than rendering it)."""

from __future__ import annotations

import smtplib

from flask import current_app
from flask_mailman import EmailMultiAlternatives


def _connection():  # type: ignore[no-untyped-def]
    """This process's open connection to the mail server, opened on first use and reused."""
    state = current_app.extensions["mailman"]
    key = (state.backend, state.server, state.port)
    cached = current_app.extensions.get("outbox_connection")
    if cached is not None and cached[0] == key:
        return cached[1]
    _drop_connection()
    opened = state.get_connection(fail_silently=False)
    if hasattr(opened, "open"):
        opened.open()
    current_app.extensions["outbox_connection"] = (key, opened)
    return opened


def _drop_connection() -> None:
    cached = current_app.extensions.pop("outbox_connection", None)
    if cached is not None:
        try:
            cached[1].close()
        except (smtplib.SMTPException, OSError):
            pass


def deliver(email: EmailMultiAlternatives) -> None:
    """Send over the reused connection; one reconnect if the server had closed it while idle."""
    for attempt in (1, 2):
        email.connection = _connection()
        try:
            email.send(fail_silently=False)
            return
        except smtplib.SMTPServerDisconnected:
            _drop_connection()
            if attempt == 2:
                raise
        except (smtplib.SMTPException, OSError):
            _drop_connection()
            raise
