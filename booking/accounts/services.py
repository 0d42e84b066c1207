"""Account use cases. They flush, never commit: the caller commits once, and the emails they
cause (queued in the outbox by `accounts/messages.py`) go in that same commit."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, event, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, contains_eager, joinedload, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_dict, instance_state, set_committed_value
from werkzeug.security import check_password_hash, generate_password_hash

from booking.accounts import tokens
from booking.accounts.models import ApiToken, LoginSession, User
from booking.core import audit, personal_pages
from booking.core.errors import Conflict, DomainError
from booking.core.policy import ADMIN, COORDINATOR, PATIENT, ROLES
from booking.core.types import utcnow
from booking.core.zones import CLINIC_ZONE_NAME
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
        currency=values.get("currency") or currency_for(values.get("country")),
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


def currency_for(country: str | None) -> str:
    """The currency prices are shown in for someone living in `country` (Babel's territory
    data), when we show that currency; else THB. They can change it in their profile."""
    from babel.numbers import get_territory_currencies

    from booking.core.i18n import SUPPORTED_CURRENCIES

    if country:
        for code in get_territory_currencies(country, tender=True, non_tender=False):
            if code in SUPPORTED_CURRENCIES:
                return code
    return "THB"


def register_patient_for(actor: User, values: dict) -> User:
    """A coordinator registers a patient who phoned or wrote: the account has no password yet;
    the patient is emailed a link to choose one (and so confirms the address). 409 when the
    email already has an account (then the coordinator finds them by it)."""
    if not actor.is_coordinator and actor.role != ADMIN:
        raise DomainError(_l("Only clinic staff register patients."), code="forbidden")
    if find_user(values["email"]) is not None:
        raise Conflict(_l("This email already has an account: find the patient by it "
                          "above."), code="email_taken")
    user = User(email=normalise_email(values["email"]), name=values["name"].strip(),
                role=PATIENT, country=values.get("country"), timezone=values["timezone"],
                language=values.get("language") or "en", phone=values.get("phone"),
                currency=currency_for(values.get("country")), invite_pending=True)
    user.set_password(secrets.token_urlsafe(24))  # nobody knows it: the link sets one
    try:
        with db.session.begin_nested():
            db.session.add(user)
            db.session.flush()
    except IntegrityError:
        raise Conflict(_l("This email already has an account: find the patient by it "
                          "above."), code="email_taken") from None
    audit.record(actor, "user.created", user,
                 after={"email": user.email, "role": PATIENT, "by_clinic": actor.clinic_id})
    from booking.accounts.messages import send_patient_invite

    send_patient_invite(user)
    return user


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
    """The user whose email and password match, or None (same cost either way). A suspended
    account is returned too: whoever knows its password is told why they cannot sign in."""
    user = find_user(email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not user.check_password(password):
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
    accepted = user.invite_pending
    user.invite_pending = False  # a staff invitation is accepted by choosing the password
    db.session.flush()
    end_login_sessions(user)  # whoever knew the old password is signed out everywhere
    audit.record(user, "user.password_reset", user,
                 after={"invitation_accepted": True} if accepted else None)
    return user


def change_password(actor: User, current: str, new_password: str, *,
                    keep_session: LoginSession | None = None) -> None:
    """Change one's own password after re-entering the current one; every other sign-in of
    the actor ends (`keep_session`: the one making the change)."""
    if not actor.check_password(current):
        raise DomainError(_l("Your current password is not correct."), code="password_wrong")
    actor.set_password(new_password)
    db.session.flush()
    end_login_sessions(actor, keep=keep_session)
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
                timezone=CLINIC_ZONE_NAME, language=language, email_verified_at=utcnow(),
                # Without a password an admin invited them: nothing reaches them (clinic
                # alerts with patient names) until they choose one from the invitation.
                invite_pending=password is None)
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
        if not active:
            end_login_sessions(user)  # signed out on every device at once
        audit.record(actor, "user.activated" if active else "user.suspended", user,
                     before={"active": not active}, after={"active": active})
    return user


# Sign-ins (server-side sessions) -------------------------------------------------------------

#: How often a sign-in's "last seen" time is written: often enough to show, not every request.
LAST_SEEN_EVERY = timedelta(minutes=5)


def _session_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_login_session(user: User, *, user_agent: str = "") -> str:
    """Record a new sign-in of `user` and return its token (for the cookie; only its SHA-256
    is stored). The user's sign-ins past their age limit are deleted on the way."""
    now = utcnow()
    db.session.execute(delete(LoginSession).where(
        LoginSession.user_id == user.id,
        LoginSession.created_at < now - current_app.config["REMEMBER_COOKIE_DURATION"]))
    token = secrets.token_urlsafe(32)
    db.session.add(LoginSession(user_id=user.id, token_hash=_session_hash(token),
                                created_at=now, last_seen_at=now,
                                user_agent=(user_agent or "")[:255]))
    db.session.flush()
    return token


def login_session_for(token: str, *, max_age: timedelta) -> LoginSession | None:
    """The live sign-in for a cookie's token, its user loaded in the same query; None when
    signed out, older than `max_age`, or the account is suspended.

    While the database's write generation has not moved (booking/core/personal_pages.py),
    the row and its user are taken from what this process read last, without SQL: signing
    out, a suspension or any change to the user is a write, and moves it."""
    if not token or len(token) > 200:
        return None
    digest = _session_hash(token)
    generation = personal_pages.generation()
    row = _trusted_sign_ins.restore(digest, generation)
    if row is None:
        row = db.session.scalar(
            select(LoginSession).join(LoginSession.user)
            .options(contains_eager(LoginSession.user))
            .where(LoginSession.token_hash == digest))
        if row is not None and generation is not None:
            _trusted_sign_ins.keep(digest, generation, row)
    if row is None or not row.user.active or row.created_at < utcnow() - max_age:
        return None
    return row


def _snapshot(obj: object) -> dict:
    """The column values of a loaded row (never the object, which its session expires)."""
    return {a.key: getattr(obj, a.key) for a in sa_inspect(obj).mapper.column_attrs}


def _restored(cls: type, values: dict):  # type: ignore[no-untyped-def]
    """A row put back into the request's session from its snapshot, as if loaded (no SQL)."""
    obj = sa_inspect(cls).class_manager.new_instance()
    instance_dict(obj).update(values)
    make_transient_to_detached(obj)  # persistent once added, all values as loaded
    present = db.session.identity_map.get(instance_state(obj).key)
    if present is not None:
        return present
    db.session.add(obj)
    return obj


class _TrustedSignIns:
    """Sign-ins this process read, each with the write generation it was read at: snapshots
    of the row and of its user. At most LIMIT; then start again."""

    LIMIT = 10_000

    def __init__(self) -> None:
        self._items: dict[str, tuple[bytes, dict, dict]] = {}

    def keep(self, digest: str, generation: bytes, row: LoginSession) -> None:
        if len(self._items) >= self.LIMIT:
            self._items.clear()
        self._items[digest] = (generation, _snapshot(row), _snapshot(row.user))

    def restore(self, digest: str, generation: bytes | None) -> LoginSession | None:
        item = self._items.get(digest)
        if item is None or generation is None or item[0] != generation:
            return None
        row = _restored(LoginSession, item[1])
        set_committed_value(row, "user", _restored(User, item[2]))  # as if loaded
        return row


_trusted_sign_ins = _TrustedSignIns()


def needs_last_seen(row: LoginSession, now: datetime) -> bool:
    return now - row.last_seen_at >= LAST_SEEN_EVERY


def mark_login_session_seen(session_id: int, now: datetime) -> None:
    db.session.execute(update(LoginSession).where(LoginSession.id == session_id)
                       .values(last_seen_at=now).execution_options(synchronize_session=False))


def end_login_session(row: LoginSession) -> None:
    """Sign one device out: its cookies stop working."""
    db.session.execute(delete(LoginSession).where(LoginSession.id == row.id)
                       .execution_options(synchronize_session=False))


def end_login_sessions(user: User, *, keep: LoginSession | None = None) -> int:
    """Sign `user` out everywhere (but the `keep` sign-in); returns how many ended."""
    query = delete(LoginSession).where(LoginSession.user_id == user.id)
    if keep is not None:
        query = query.where(LoginSession.id != keep.id)
    return db.session.execute(query.execution_options(synchronize_session=False)).rowcount


def purge_login_sessions(max_age: timedelta, now: datetime | None = None) -> int:
    """Delete sign-ins older than `max_age` (their cookies are refused anyway)."""
    now = now or utcnow()
    return db.session.execute(delete(LoginSession).where(
        LoginSession.created_at < now - max_age)
        .execution_options(synchronize_session=False)).rowcount


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
        # Forgotten once the revocation is committed: before that, another thread could read
        # the row still valid and trust the token again.
        db.session.info.setdefault(_FORGET_AFTER_COMMIT, set()).add(row.token_hash)
        db.session.flush()
        audit.record(actor, "api_token.revoked", row)


#: How long a process goes without writing a bearer token's last_used_at again. Within it the
#: token is still checked on every request unless nothing at all was written since (then its
#: user is restored as read): a revocation is a write, so it stops the token at once everywhere.
API_TOKEN_TRUST_SECONDS = 5.0
#: Token hash -> [trusted until (monotonic), write generation, user snapshot], this process
#: only.
_trusted_tokens: dict[str, list] = {}
_clock = time.monotonic


def _live_token(digest: str) -> ApiToken | None:
    """The unrevoked token with this hash, its user loaded in the same query."""
    return db.session.scalar(select(ApiToken).options(joinedload(ApiToken.user)).where(
        ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None)))


def user_for_api_token(token: str) -> User | None:
    """The active user a bearer token belongs to, or None.

    The token's last_used_at is written at most once per API_TOKEN_TRUST_SECONDS per process.
    In between, the token and its user are read again in one query, so a revoked token or a
    suspended account is refused at once, by every process; and while the database's write
    generation has not moved, not even that: a revocation or a suspension is a write, and
    moves it."""
    digest = _token_hash(token)
    trusted = _trusted_tokens.get(digest)
    if trusted is not None and trusted[0] > _clock():
        generation = personal_pages.generation()
        if generation is not None and trusted[1] == generation:
            return _restored(User, trusted[2])
        row = _live_token(digest)
        if row is not None and row.user.active:
            if generation is not None:
                trusted[1:] = [generation, _snapshot(row.user)]
            return row.user
        _trusted_tokens.pop(digest, None)
        return None
    row = _live_token(digest)
    if row is None or not row.user.active:
        _trusted_tokens.pop(digest, None)
        return None
    row.last_used_at = utcnow()
    if len(_trusted_tokens) > 10_000:  # a bound, not a policy: start again
        _trusted_tokens.clear()
    _trusted_tokens[digest] = [_clock() + API_TOKEN_TRUST_SECONDS, None, None]
    return row.user


_FORGET_AFTER_COMMIT = "forget_api_tokens"


@event.listens_for(Session, "after_commit")
def _forget_revoked_tokens(session: Session) -> None:
    for token_hash in session.info.pop(_FORGET_AFTER_COMMIT, ()):
        forget_api_token(token_hash)


@event.listens_for(Session, "after_rollback")
def _keep_tokens(session: Session) -> None:
    session.info.pop(_FORGET_AFTER_COMMIT, None)


def forget_api_token(token_hash: str) -> None:
    """Stop trusting a token in this process (revocation; other processes within seconds)."""
    _trusted_tokens.pop(token_hash, None)
