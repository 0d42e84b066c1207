"""Running a service call from a view: commit once on success, roll back on a domain error."""

from __future__ import annotations

from collections.abc import Callable

from flask import flash

from booking.core.errors import DomainError
from booking.extensions import db


def apply(action: Callable[[], object], success: str) -> bool:
    """Run `action`; commit and flash `success`, or roll back and flash why it was refused."""
    try:
        action()
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return False
    db.session.commit()
    flash(success, "success")
    return True
