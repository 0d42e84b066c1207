"""The refund policy engine: a clinic's cancellation windows and what each gives back.

Windows are read longest first: cancelled at least `min_hours` before the consultation, the
patient gets `percent` of what they paid. A clinic's own cancellation gives everything back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select

from booking.accounts.models import User
from booking.core import audit
from booking.core.errors import NotFound, Unprocessable
from booking.core.locks import sqlite_write_lock
from booking.core.policy import can_manage_clinic
from booking.extensions import db
from booking.payments.models import RefundWindow


@dataclass(frozen=True)
class Window:
    min_hours: int
    percent: int


#: ≥ 7 days → 100 %, 2–7 days → 50 %, < 48 h → nothing.
DEFAULT = (Window(168, 100), Window(48, 50), Window(0, 0))


def windows(clinic_id: int) -> tuple[Window, ...]:
    """The clinic's windows, longest notice first (the defaults when it has set none)."""
    rows = db.session.scalars(select(RefundWindow).where(RefundWindow.clinic_id == clinic_id)
                              .order_by(RefundWindow.min_hours.desc())).all()
    return tuple(Window(r.min_hours, r.percent) for r in rows) or DEFAULT


def share(policy: tuple[Window, ...], starts_at: datetime, at: datetime) -> int:
    """The percent given back for a patient's cancellation at `at` (0 once it has begun)."""
    hours_before = (starts_at - at).total_seconds() / 3600
    for window in policy:
        if hours_before >= window.min_hours:
            return window.percent
    return 0


def refund_amount(paid_minor: int, percent: int) -> int:
    """`percent` of what was paid, rounded down to the currency's minor unit."""
    return paid_minor * percent // 100


def _notice(hours: int) -> str:
    if hours % 24 == 0:
        days = hours // 24
        return ngettext("%(num)s day", "%(num)s days", days)
    return ngettext("%(num)s hour", "%(num)s hours", hours)


def describe(policy: tuple[Window, ...]) -> list[str]:
    """The policy in sentences, one per window, longest notice first."""
    lines = []
    for i, window in enumerate(policy):
        back = (_l("the deposit in full") if window.percent == 100 else
                _l("no refund") if window.percent == 0 else
                _l("%(percent)s %% of the deposit", percent=window.percent))
        longer = policy[i - 1].min_hours if i else None
        if window.min_hours == 0 and longer is not None:
            when = _l("Less than %(notice)s before", notice=_notice(longer))
        elif window.min_hours == 0:
            when = _l("Any time before")
        elif longer is None:
            when = _l("%(notice)s or more before", notice=_notice(window.min_hours))
        else:
            when = _l("%(short)s to %(long)s before", short=_notice(window.min_hours),
                      long=_notice(longer))
        lines.append(f"{when}: {back}")
    return lines


def set_windows(actor: User, clinic_id: int, lines: list[Window]) -> tuple[Window, ...]:
    """Replace the clinic's policy. More notice never gives back less; one window per notice;
    the last (no notice) always exists."""
    if not can_manage_clinic(actor, clinic_id):
        raise NotFound(_l("No such clinic."))
    ordered = sorted(lines, key=lambda w: -w.min_hours)
    if len({w.min_hours for w in ordered}) != len(ordered):
        raise Unprocessable(_l("Two lines have the same notice: give each a different one."),
                            code="duplicate_window")
    if not ordered or ordered[-1].min_hours != 0:
        raise Unprocessable(_l("Say what a late cancellation gives back."), code="no_late_window")
    for longer, shorter in zip(ordered, ordered[1:], strict=False):
        if shorter.percent > longer.percent:
            raise Unprocessable(_l("Cancelling earlier must never give back less than "
                                   "cancelling later: check the percentages."),
                                code="policy_not_monotonic")
    # Two coordinators saving at once: one after the other (the clinic's row is the lock),
    # or both would insert the same windows and the second would fail on the unique key.
    from booking.catalogue.models import Clinic

    sqlite_write_lock()
    db.session.execute(select(Clinic.id).where(Clinic.id == clinic_id).with_for_update())
    before = [(w.min_hours, w.percent) for w in windows(clinic_id)]
    db.session.execute(RefundWindow.__table__.delete().where(
        RefundWindow.clinic_id == clinic_id))
    for w in ordered:
        db.session.add(RefundWindow(clinic_id=clinic_id, min_hours=w.min_hours,
                                    percent=w.percent))
    db.session.flush()
    audit.record(actor, "refund_policy.set", db.session.get(Clinic, clinic_id),
                 before={"windows": before},
                 after={"windows": [(w.min_hours, w.percent) for w in ordered]})
    return tuple(ordered)

