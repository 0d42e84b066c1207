"""The user account, one table for every role."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ColumnElement, ForeignKey, String, and_, false, true
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from booking.core.models import TimestampMixin
from booking.core.policy import ADMIN, COORDINATOR, PATIENT
from booking.core.types import UtcDateTime, utcnow
from booking.extensions import db

if TYPE_CHECKING:
    from booking.catalogue.models import Clinic


def password_fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


class User(UserMixin, TimestampMixin, db.Model):
    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint("role IN ('patient', 'coordinator', 'admin')", name="role_known"),
        # A coordinator belongs to exactly one clinic; nobody else belongs to one.
        CheckConstraint(
            "(role = 'coordinator' AND clinic_id IS NOT NULL)"
            " OR (role <> 'coordinator' AND clinic_id IS NULL)",
            name="coordinator_has_clinic",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stored lower-cased so look-ups are case-insensitive on every database.
    email: Mapped[str] = mapped_column(String(320), unique=True, nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False, default=PATIENT)
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinic.id"), index=True)
    #: ISO 3166-1 alpha-2 country of residence.
    country: Mapped[str | None] = mapped_column(String(2))
    #: IANA zone name; every time is shown to the user in this zone.
    timezone: Mapped[str] = mapped_column(String(64), nullable=False, default="UTC")
    #: Locale code of the preferred language (one of Config.LANGUAGES).
    language: Mapped[str] = mapped_column(String(10), nullable=False, default="en")
    #: E.164, e.g. +14155550123.
    phone: Mapped[str | None] = mapped_column(String(20))
    #: Preferred display currency (ISO 4217); THB prices are converted for display only.
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="THB")
    email_verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    active: Mapped[bool] = mapped_column(default=True, nullable=False)
    #: Coordinators: email me when a patient holds, moves or cancels a booking at my clinic.
    booking_alerts: Mapped[bool] = mapped_column(default=True, server_default=true(),
                                                 nullable=False)
    #: Staff invited by an admin who have not chosen their password yet (they have never
    #: signed in); cleared when they do. Until then they receive no clinic alerts.
    invite_pending: Mapped[bool] = mapped_column(default=False, server_default=false(),
                                                 nullable=False)

    clinic: Mapped[Clinic | None] = relationship()

    @property
    def is_active(self) -> bool:  # Flask-Login: inactive users cannot log in
        return self.active

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def is_patient(self) -> bool:
        return self.role == PATIENT

    @property
    def is_coordinator(self) -> bool:
        return self.role == COORDINATOR

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    @hybrid_property
    def receives_clinic_alerts(self) -> bool:
        """May be emailed the clinic's alerts (patient names inside): an active coordinator who
        has accepted their invitation. The one rule for choosing recipients and for the
        check again at send time; usable in queries too."""
        return self.active and self.role == COORDINATOR and not self.invite_pending

    @receives_clinic_alerts.inplace.expression
    @classmethod
    def _receives_clinic_alerts_expression(cls) -> ColumnElement[bool]:
        return and_(cls.active.is_(True), cls.role == COORDINATOR,
                    cls.invite_pending.is_(False))

    #: The token of the sign-in this object was loaded for (set by booking.accounts.auth);
    #: never stored, only its SHA-256 is (LoginSession.token_hash).
    login_token = None  # str | None (a plain attribute, not a column)
    #: The LoginSession row of that sign-in.
    login_session = None  # LoginSession | None

    def get_id(self) -> str:
        """Flask-Login's id for the session and remember-me cookies: the token of the current
        sign-in ("alternative tokens"), so ending the sign-in on the server ends both cookies."""
        if not self.login_token:
            raise RuntimeError("sign in through booking.accounts.auth.sign_in")
        return self.login_token

    def set_password(self, password: str) -> None:
        # Werkzeug 3 defaults to scrypt.
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class ApiToken(db.Model):
    """A bearer token for the JSON API. Only its SHA-256 is stored; the token is shown once."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"),
                                         nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, nullable=False)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    user: Mapped[User] = relationship()


class LoginSession(db.Model):
    """One sign-in on one device. Its token is in the session (and remember-me) cookie; only the
    SHA-256 is stored, so a database copy signs nobody in. Deleting the row signs that device
    out, whatever cookie it kept."""

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"),
                                         nullable=False, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, nullable=False)
    #: Updated at most every few minutes (not on every request).
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, nullable=False)
    #: The browser's User-Agent at sign-in, cut to 255 characters; shown, never trusted.
    user_agent: Mapped[str] = mapped_column(String(255), nullable=False, default="")

    user: Mapped[User] = relationship()
