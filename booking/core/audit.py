"""The audit trail: who changed what, on which object, when, with before/after summaries."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, String
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
