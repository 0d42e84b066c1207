"""The outbox's own screen for admins: every message with its status, and one message as it is
(or would be) sent. It knows no feature: kinds come from the registry."""

from __future__ import annotations

import re

from flask import Blueprint, make_response, render_template, request, url_for
from sqlalchemy import select

from booking.core.pages import PER_PAGE, asked_page, other_args
from booking.core.policy import admin_required
from booking.extensions import db
from booking.notifications import services as notifications
from booking.notifications.models import MessageStatus, OutboxMessage
from booking.notifications.registry import kinds

bp = Blueprint("outbox", __name__, url_prefix="/admin")


@bp.get("/outbox")
@admin_required
def outbox():
    """Every message, newest first, with its status; failed ones first when asked."""
    query = select(OutboxMessage).order_by(OutboxMessage.due_at.desc(), OutboxMessage.id.desc())
    status = request.args.get("status")
    if status in set(MessageStatus):
        query = query.where(OutboxMessage.status == status)
    number, problem = asked_page()
    page = db.paginate(query, page=number, per_page=PER_PAGE, error_out=False)
    return render_template("notifications/outbox.html", page=page, status=status, kinds=kinds(),
                           args=other_args(), page_problem=problem), 422 if problem else 200


@bp.get("/outbox/<int:message_id>")
@admin_required
def outbox_message(message_id: int):
    """One message as it is (or would be) sent: subject, text and HTML."""
    message = db.get_or_404(OutboxMessage, message_id)
    email = notifications.render(message, preview=True)
    html = next((body for body, mime in email.alternatives if mime == "text/html"), "")
    return render_template("notifications/outbox_message.html", message=message, email=email,
                           html=html, preview_url=url_for("outbox.outbox_preview",
                                                          message_id=message.id))


#: A link in a previewed email: its address goes, a marker says there was one (a reset or a
#: manage link must not work from an admin's screen).
_HREF = re.compile(r"""\shref\s*=\s*("[^"]*"|'[^']*')""", re.IGNORECASE)
_MARKER = ("<style>a[data-preview-link]{color:#0b5566;text-decoration:underline dotted;"
           "cursor:not-allowed}a[data-preview-link]::after{content:\" \\2197 link\";"
           "font-size:.8em;background:#fff3cd;border:1px solid #e0c36c;border-radius:3px;"
           "padding:0 .25em;margin-left:.25em}</style>")


def without_links(html: str) -> str:
    """The email's HTML with every link's address replaced by a marker."""
    marked = _HREF.sub(' data-preview-link="1"', html)
    return marked.replace("</head>", _MARKER + "</head>", 1) if "</head>" in marked \
        else _MARKER + marked


@bp.get("/outbox/<int:message_id>/preview.html")
@admin_required
def outbox_preview(message_id: int):
    """The HTML email as recipients see it, for the frame on the message page: nothing runs
    (sandboxed, no scripts), links are markers."""
    message = db.get_or_404(OutboxMessage, message_id)
    email = notifications.render(message, preview=True)
    html = next((body for body, mime in email.alternatives if mime == "text/html"), "")
    response = make_response(without_links(html))
    response.headers["Content-Type"] = "text/html; charset=utf-8"
    return response


# Its own policy: the email's inline styles may apply, nothing else; only our page frames it.
outbox_preview.talisman_view_options = {
    "content_security_policy": {"default-src": "'none'", "style-src": "'unsafe-inline'",
                                "img-src": "data:", "frame-ancestors": "'self'",
                                "sandbox": ""},
    "frame_options": "SAMEORIGIN",
}
