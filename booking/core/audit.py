"""The audit trail: who changed what, on which object, when, with before/after summaries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, String, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.core.types import UtcDateTime, utcnow
from booking.extensions import db

if TYPE_CHECKING:
    from booking.accounts.models import User


class AuditEvent(db.Model):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_object", "object_type", "object_id"),
        Index("ix_audit_event_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, nullable=False)
    #: None when the system acted (a CLI seed, a worker task).
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    #: The actor's email at the time, kept even if the account is later removed.
    actor_label: Mapped[str] = mapped_column(String(320), nullable=False)
    action: Mapped[str] = mapped_column(String(80), nullable=False, index=True)
    object_type: Mapped[str] = mapped_column(String(80), nullable=False)
    object_id: Mapped[str] = mapped_column(String(80), nullable=False)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    actor: Mapped[User | None] = relationship()


def _jsonable(summary: dict[str, Any] | None) -> dict[str, Any] | None:
    if summary is None:
        return None
    def plain(value: Any) -> Any:
        if isinstance(value, (str, int, float, bool, type(None))):
            return value
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        return str(value)

    return {k: plain(v) for k, v in summary.items()}


def record(
    actor: User | None,
    action: str,
    obj: Any,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit record to the current transaction (flushed with the change it describes)."""
    event = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        actor_label=actor.email if actor is not None else "system",
        action=action,
        object_type=type(obj).__name__,
        object_id=str(obj.id),
        before=_jsonable(before),
        after=_jsonable(after),
    )
    db.session.add(event)
    return event


def snapshot(obj: Any, fields: list[str]) -> dict[str, Any]:
    """A before/after summary of the named attributes of a model instance."""
    return {f: getattr(obj, f) for f in fields}


def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict, dict]:
    """Only the fields that changed, as (before, after)."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


# Display: before/after summaries as sentences for the admin audit page ---------------------

#: Field names that read badly when merely de-underscored.
FIELD_LABELS = {
    "odi_score": "ODI score",
    "nrs": "pain score (NRS, 0–10)",
    "red_flags": "red flags",
    "price_min_minor": "lowest price",
    "price_max_minor": "highest price",
    "deposit_minor": "deposit",
    "amount_minor": "amount",
    "clinic_id": "clinic",
    "doctor_id": "doctor",
    "starts_at": "starts",
    "ends_at": "ends",
    "day": "date",
}


def field_label(key: str) -> str:
    """A readable name for a recorded field ("price_min_minor" -> "lowest price")."""
    if key in FIELD_LABELS:
        return FIELD_LABELS[key]
    label = key.removesuffix("_minor").removesuffix("_id").replace("_", " ").strip()
    return label or key


def display_value(key: str, value: Any, currency: str = "THB") -> str:
    """A recorded value as a person reads it: money formatted, lists joined, empties named."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(display_value(key, v, currency) for v in value) if value else "none"
    if isinstance(value, dict):
        return "; ".join(f"{field_label(str(k))}: {display_value(str(k), v, currency)}"
                         for k, v in value.items()) or "—"
    if key.endswith("_minor") and isinstance(value, int):
        from booking.core.money import Money

        try:
            return Money(value, currency).format("en")
        except (ValueError, LookupError):
            return str(value)
    if key == "odi_score" and isinstance(value, (int, float)):
        return f"{value} %"
    text = str(value)
    return text if len(text) <= 200 else text[:199] + "…"


def describe_changes(event: AuditEvent) -> list[str]:
    """The event's summary as lines: "field: old → new" for a change, "field: value" for a
    creation or removal."""
    before, after = event.before or {}, event.after or {}
    currency = str(after.get("currency") or before.get("currency") or "THB")
    lines = []
    for key in list(dict.fromkeys([*before, *after])):
        if key in before and key in after:
            lines.append(f"{field_label(key)}: {display_value(key, before[key], currency)} → "
                         f"{display_value(key, after[key], currency)}")
        elif key in after:
            lines.append(f"{field_label(key)}: {display_value(key, after[key], currency)}")
        else:
            lines.append(f"{field_label(key)}: {display_value(key, before[key], currency)} → "
                         "(removed)" if event.after else
                         f"{field_label(key)}: {display_value(key, before[key], currency)}")
    return lines


# Sentences: "Kanya Suwan confirmed SB-6PVMEB for Jane Miller" --------------------------------

#: How each feature names its objects in a sentence: object type -> (ids -> labels). Features
#: register theirs at start-up (`register_labeller`); the trail itself knows no feature.
Labeller = Callable[[list[str]], dict[str, "str | Named"]]


class Named(NamedTuple):
    """A label that reads shorter when its owner is the one acting: "SB-6PVMEB for Jane
    Miller", but "Jane Miller cancelled SB-6PVMEB"."""

    text: str
    short: str
    owner_id: int
_LABELLERS: dict[str, Labeller] = {}

#: What an action did, as a verb phrase (actions not listed read as their last word).
VERBS = {
    "booking.created": _l("held"),
    "booking.confirmed": _l("confirmed"),
    "booking.cancelled_by_patient": _l("cancelled"),
    "booking.cancelled_by_clinic": _l("cancelled, for the clinic,"),
    "booking.expired": _l("released the lapsed hold"),
    "booking.completed": _l("marked completed"),
    "booking.no_show": _l("marked as a no-show"),
    "booking.rescheduled": _l("moved"),
    "booking.video_link_set": _l("set the video link of"),
    "booking.confirmed_late": _l("confirmed, after a late payment,"),
    "booking.hold_extended": _l("kept the hold open during checkout for"),
    "payment.checkout_started": _l("started paying the deposit for"),
    "payment.received": _l("received the deposit for"),
    "payment.failed": _l("saw a failed payment for"),
    "payment.refund_requested": _l("refunded money for"),
    "payment.refund_failed": _l("saw a refund fail for"),
    "refund_policy.set": _l("changed the cancellation policy of"),
    "consent.informed": _l("gave informed consent for"),
    "consent.pdpa": _l("gave health data consent for"),
    "schedule.plan_replaced": _l("changed the weekly plan of"),
    "schedule.leave_added": _l("added leave"),
    "schedule.block_added": _l("blocked time"),
    "schedule.extra_added": _l("added extra hours"),
    "schedule.closure_added": _l("added a closure"),
    "schedule.leave_removed": _l("removed leave"),
    "schedule.block_removed": _l("removed blocked time"),
    "schedule.extra_removed": _l("removed extra hours"),
    "schedule.closure_removed": _l("removed a closure"),
    "holiday.added": _l("added the holiday"),
    "holiday.removed": _l("removed the holiday"),
    "document.uploaded": _l("uploaded"),
    "document.downloaded": _l("opened"),
    "screening.recorded": _l("answered the health questions"),
    "user.registered": _l("registered"),
    "user.created": _l("created the account of"),
    "user.invited": _l("invited"),
    "user.suspended": _l("suspended"),
    "user.activated": _l("restored"),
    "user.updated": _l("changed the account of"),
    "user.profile_updated": _l("changed the details of"),
    "user.password_changed": _l("changed the password of"),
    "user.password_reset": _l("reset the password of"),
    "user.email_verified": _l("confirmed the email of"),
    "exchange_rate.set": _l("set the exchange rate"),
}
#: Actions whose object is the actor's own doing, not worth naming ("answered the questions").
_NO_OBJECT = {"screening.recorded", "user.registered", "exchange_rate.set"}


def register_labeller(object_type: str, labeller: Labeller) -> None:
    _LABELLERS[object_type] = labeller


def register_verbs(verbs: dict[str, Any]) -> None:
    """A feature's actions as verb phrases ("confirmed the airport pickup of")."""
    VERBS.update(verbs)


def _verb(action: str) -> str:
    if action in VERBS:
        return str(VERBS[action])
    kind, _sep, what = action.partition(".")
    if what in {"created", "updated", "seeded"}:
        return {"created": _("created"), "updated": _("changed"), "seeded": _("set up")}[what]
    return what.replace("_", " ") or action


def sentences(events: Iterable[AuditEvent]) -> dict[int, str]:
    """Each event as one sentence, its objects named by their features (one query a type)."""
    events = list(events)
    wanted: dict[str, set[str]] = defaultdict(set)
    for event in events:
        wanted[event.object_type].add(event.object_id)
    labels: dict[tuple[str, str], str | Named] = {}
    for object_type, ids in wanted.items():
        labeller = _LABELLERS.get(object_type)
        for object_id, label in (labeller(sorted(ids)) if labeller else {}).items():
            labels[(object_type, object_id)] = label
    person = AuditEvent.actor.property.mapper.class_  # the account model, not imported here
    actor_ids = {e.actor_id for e in events if e.actor_id is not None}
    names = dict(db.session.execute(select(person.id, person.name).where(
        person.id.in_(actor_ids))).all()) if actor_ids else {}
    said = {}
    for event in events:
        who = (names.get(event.actor_id) or (
            _("The system") if event.actor_id is None and event.actor_label == "system"
            else event.actor_label))
        what = labels.get((event.object_type, event.object_id),
                          f"{event.object_type} #{event.object_id}")
        if isinstance(what, Named):
            what = what.short if event.actor_id == what.owner_id else what.text
        verb = _verb(event.action)
        said[event.id] = (f"{who} {verb}" if event.action in _NO_OBJECT
                          else f"{who} {verb} {what}")
    return said
