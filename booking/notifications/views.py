"""The outbox's own screen for admins: every message with its status, and one message as it is
(or would be) sent. It knows no feature: kinds come from the registry."""

from __future__ import annotations

from flask import Blueprint, render_template, request
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
                           html=html)
