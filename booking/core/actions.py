"""The one way a request or a task writes to the database.

Services add, change and flush; they never commit. The caller (a view, an API endpoint, a
task) wraps the whole change in `transaction()`: everything inside commits together once, or,
if anything raises, nothing does. `attempt()` and `apply()` are the two shapes views need on
top of it: "give me the refusal to show beside a field" and "flash the outcome".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import flash

from booking.core.errors import DomainError
from booking.extensions import db


@contextmanager
def transaction() -> Iterator[None]:
    """Commit once when the block ends; roll back (and let the error through) if it raises."""
    try:
        yield
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()


@dataclass(frozen=True)
class Attempt:
    """What a service call gave back, or why it was refused (then nothing was written)."""

    value: Any = None
    error: DomainError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def message(self) -> str:
        return str(self.error.message) if self.error else ""


def attempt(action: Callable[[], Any]) -> Attempt:
    """Run `action` in one transaction; a refusal is returned (rolled back), not raised."""
    try:
        with transaction():
            value = action()
    except DomainError as exc:
        return Attempt(error=exc)
    return Attempt(value=value)


def apply(action: Callable[[], object], success: str) -> bool:
    """Run `action` in one transaction and flash `success`, or flash why it was refused."""
    result = attempt(action)
    if result.ok:
        flash(success, "success")
    else:
        flash(result.message, "danger")
    return result.ok
