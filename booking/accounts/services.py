"""Account use cases. They flush, never commit; the caller commits once, then sends email."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from booking.accounts import tokens
from booking.accounts.models import ApiToken, User
from booking.core import audit
from booking.core.errors import DomainError
from booking.core.policy import ADMIN, COORDINATOR, PATIENT, ROLES
from booking.core.types import utcnow
from booking.extensions import db

PROFILE_FIELDS = ["name", "country", "timezone", "language", "phone", "currency",
                  "booking_alerts"]
# Checked against when no account matches, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method="scrypt")


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


@dataclass(frozen=True)
class Registration:
    user: User
    #: False when the email already had an account: we email its owner instead of saying so.
    created: bool


def register_patient(values: dict) -> Registration:
    """Create an unverified patient account, or report that the email already has one."""
    existing = find_user(values["email"])
    if existing is not None:
        # Same cost as creating an account, so timing does not tell that the email is known.
        generate_password_hash(values["password"], method="scrypt")
        return Registration(existing, created=False)
    user = User(
        email=normalise_email(values["email"]),
        name=values["name"].strip(),
        role=PATIENT,
        country=values.get("country"),
        timezone=values["timezone"],
        language=values["language"],
        phone=values.get("phone"),
        currency=values.get("currency") or "THB",
    )
    user.set_password(values["password"])
    try:
        with db.session.begin_nested():
            db.session.add(user)
            db.session.flush()
    except IntegrityError:
        # The same email registered a moment ago by a parallel request.
        return Registration(find_user(values["email"]), created=False)
    audit.record(user, "user.registered", user,
                 after={"email": user.email, "role": user.role, "country": user.country})
    return Registration(user, created=True)


def verify_email(token: str) -> User:
    """Mark the email in a verification link as confirmed."""
    try:
        payload = tokens.read_verify_token(token)
    except tokens.TokenInvalid as exc:
        raise DomainError(
            _l("This link has expired. Ask for a new one below.") if exc.expired
            else _l("This link is not valid. Ask for a new one below."),
            code="token_expired" if exc.expired else "token_invalid",
        ) from exc
    user = db.session.get(User, payload.get("uid"))
    if user is None or user.email != payload.get("email"):
        raise DomainError(_l("This link is not valid. Ask for a new one below."),
                          code="token_invalid")
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        db.session.flush()
        audit.record(user, "user.email_verified", user, after={"email": user.email})
    return user


def authenticate(email: str, password: str) -> User | None:
    """The user whose email and password match, or None (same cost either way)."""
    user = find_user(email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    return user


def user_for_reset_token(token: str) -> User:
    try:
        payload = tokens.read_reset_token(token)
    except tokens.TokenInvalid as exc:
        raise DomainError(
            _l("This reset link has expired. Ask for a new one.") if exc.expired
            else _l("This reset link is not valid. Ask for a new one."),
            code="token_expired" if exc.expired else "token_invalid",
        ) from exc
    user = db.session.get(User, payload.get("uid"))
    if user is None or not user.active or not tokens.reset_token_matches(user, payload):
        raise DomainError(_l("This reset link has already been used or is not valid."),
                          code="token_invalid")
    return user


def reset_password(token: str, new_password: str) -> User:
    """Set a new password from a reset link; the link then stops working."""
    user = user_for_reset_token(token)
    user.set_password(new_password)
    # Following the link proves the address works.
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    db.session.flush()
    audit.record(user, "user.password_reset", user)
    return user


def change_password(actor: User, current: str, new_password: str) -> None:
    """Change one's own password after re-entering the current one."""
    if not actor.check_password(current):
        raise DomainError(_l("Your current password is not correct."), code="password_wrong")
    actor.set_password(new_password)
    db.session.flush()
    audit.record(actor, "user.password_changed", actor)


def update_profile(actor: User, user: User, values: dict) -> User:
    """Change name, country, zone, language, phone, display currency (and, for
    coordinators, whether they are emailed about patients' bookings)."""
    if actor.id != user.id and actor.role != ADMIN:
        raise DomainError(_l("You may only change your own profile."), code="forbidden")
    before = audit.snapshot(user, PROFILE_FIELDS)
    for field in PROFILE_FIELDS:
        if field in values:
            setattr(user, field, values[field])
    db.session.flush()
    old, new = audit.changes(before, audit.snapshot(user, PROFILE_FIELDS))
    if new:
        audit.record(actor, "user.profile_updated", user, before=old, after=new)
    return user


def create_staff(actor: User | None, *, email: str, name: str, role: str,
                 clinic_id: int | None, password: str | None = None,
                 language: str = "en") -> User:
    """Create a coordinator (of one clinic) or an admin. Never reachable by self-registration."""
    if role not in ROLES or role == PATIENT:
        raise DomainError(_l("Staff accounts are coordinators or admins."), code="role_invalid")
    if role == COORDINATOR and clinic_id is None:
        raise DomainError(_l("A coordinator must belong to a clinic."), code="clinic_required")
    if role == ADMIN:
        clinic_id = None
    if find_user(email) is not None:
        raise DomainError(_l("An account with this email already exists."), code="email_taken")
    user = User(email=normalise_email(email), name=name.strip(), role=role, clinic_id=clinic_id,
                timezone="Asia/Bangkok", language=language, email_verified_at=utcnow())
    user.set_password(password or secrets.token_urlsafe(24))
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "user.created", user,
                 after={"email": user.email, "role": role, "clinic_id": clinic_id})
    return user


def update_staff(actor: User, user: User, *, name: str, role: str,
                 clinic_id: int | None) -> User:
    """Rename a staff member, or move them to another clinic or role (admins only)."""
    if user.is_patient:
        raise DomainError(_l("Patients manage their own details."), code="not_staff")
    if role not in (COORDINATOR, ADMIN):
        raise DomainError(_l("Staff accounts are coordinators or admins."), code="role_invalid")
    if actor.id == user.id and role != user.role:
        raise DomainError(_l("You cannot change your own role."), code="self_role")
    if role == COORDINATOR and clinic_id is None:
        raise DomainError(_l("A coordinator must belong to a clinic."), code="clinic_required")
    fields = ["name", "role", "clinic_id"]
    before = audit.snapshot(user, fields)
    user.name = name.strip()
    user.role = role
    user.clinic_id = clinic_id if role == COORDINATOR else None
    old, new = audit.changes(before, audit.snapshot(user, fields))
    if new:
        db.session.flush()
        audit.record(actor, "user.updated", user, before=old, after=new)
    return user


def set_active(actor: User, user: User, active: bool) -> User:
    """Suspend or restore an account (admins only; never one's own)."""
    if actor.id == user.id:
        raise DomainError(_l("You cannot suspend your own account."), code="self_suspend")
    if user.active != active:
        user.active = active
        db.session.flush()
        audit.record(actor, "user.activated" if active else "user.suspended", user,
                     before={"active": not active}, after={"active": active})
    return user


# API tokens ---------------------------------------------------------------------------------

def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(actor: User, name: str = "API") -> str:
    """Issue a bearer token for the actor; the plain token is returned once and not stored."""
    token = "sbk_" + secrets.token_urlsafe(32)
    row = ApiToken(user_id=actor.id, name=name.strip()[:100] or "API",
                   token_hash=_token_hash(token))
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "api_token.created", row, after={"name": row.name})
    return token


def revoke_api_token(actor: User, token_id: int) -> None:
    """Revoke one of the actor's own tokens."""
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != actor.id:
        raise DomainError(_l("No such token."), code="not_found")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        db.session.flush()
        audit.record(actor, "api_token.revoked", row)


def user_for_api_token(token: str) -> User | None:
    """The active user a bearer token belongs to, or None."""
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token),
                                                   ApiToken.revoked_at.is_(None)))
    if row is None or not row.user.active:
        return None
    row.last_used_at = utcnow()
    return row.user
