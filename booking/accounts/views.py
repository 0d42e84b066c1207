"""Account pages: register, verify, log in/out, reset, profile."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from booking.accounts import auth, messages, services
from booking.accounts.forms import (
    ChangePasswordForm,
    EmailOnlyForm,
    LoginForm,
    ProfileForm,
    RegistrationForm,
    ResetPasswordForm,
)
from booking.accounts.models import ApiToken
from booking.core.actions import attempt, transaction
from booking.core.errors import DomainError
from booking.core.policy import any_user_required
from booking.core.views import safe_next
from booking.extensions import db, limiter

bp = Blueprint("accounts", __name__)
bp.after_app_request(auth.touch_login_session)

#: Where the email to pre-fill the sign-in form waits (after verifying or resetting): in the
#: signed session cookie, never in the URL, so no access log records a patient's address.
LOGIN_EMAIL_KEY = "login_email"


def _to_login_with(email: str):  # type: ignore[no-untyped-def]
    session[LOGIN_EMAIL_KEY] = email
    return redirect(url_for("accounts.login"))


def _form_status() -> int:
    """422 when a posted form is shown again with its errors, 200 when first shown."""
    return 422 if request.method == "POST" else 200


def auth_limit() -> str:
    return current_app.config["AUTH_RATE_LIMIT"]


def home_for(user) -> str:  # type: ignore[no-untyped-def]
    if user.is_admin:
        return url_for("admin.dashboard")
    if user.is_coordinator:
        return url_for("coordinator.dashboard")
    return url_for("scheduling.my_bookings")


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(auth_limit, methods=["POST"])
def register():
    """Patient sign-up; the same answer whether or not the email is already registered."""
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = RegistrationForm()
    if request.method == "GET" and not form.language.data:
        form.language.data = request.accept_languages.best_match(
            list(current_app.config["LANGUAGES"])) or "en"
    if form.validate_on_submit():
        values = {
            "name": form.name.data, "email": form.email.data, "password": form.password.data,
            "country": form.country.data, "timezone": form.timezone.data,
            "language": form.language.data, "phone": form.phone_e164,
        }
        with transaction():
            result = services.register_patient(values)
            if result.created:
                messages.send_verification(result.user)
            else:
                messages.send_already_registered(result.user)
        return render_template("accounts/check_email.html", email=services.normalise_email(
            form.email.data))
    return render_template("accounts/register.html", form=form,
                           fresh=request.method == "GET"), 200 if request.method == "GET" else 422


@bp.get("/verify/<token>")
def verify_email(token: str):
    """Follow the link from the verification email."""
    verified = attempt(lambda: services.verify_email(token))
    if not verified.ok:
        return render_template("accounts/verify_failed.html", message=verified.message,
                               form=EmailOnlyForm()), 400
    user = verified.value
    flash(_("Thank you, your email is confirmed. You can sign in now."), "success")
    return _to_login_with(user.email)


@bp.route("/verify/resend", methods=["GET", "POST"])
@limiter.limit(auth_limit, methods=["POST"])
def resend_verification():
    """Send the verification email again (same answer for unknown emails)."""
    form = EmailOnlyForm()
    if form.validate_on_submit():
        user = services.find_user(form.email.data)
        if user is not None and not user.is_verified:
            with transaction():
                messages.send_verification(user)
        return render_template("accounts/check_email.html", email=services.normalise_email(
            form.email.data))
    return render_template("accounts/resend.html", form=form), _form_status()


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(auth_limit, methods=["POST"])
def login():
    """Sign in with email and password."""
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    remembered = session.pop(LOGIN_EMAIL_KEY, None)
    if request.method == "GET" and remembered:
        form.email.data = remembered
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors.append(_("That email and password do not match an account."))
        elif not user.active:
            form.email.errors.append(_(
                "This account is suspended, so it cannot sign in. If you think this is a "
                "mistake, write to %(email)s from the address you registered with.",
                email=current_app.config["SUPPORT_EMAIL"]))
            return render_template("accounts/login.html", form=form), 422
        elif not user.is_verified:
            form.email.errors.append(
                _("Please confirm your email first: we sent you a link when you registered.")
            )
            return render_template("accounts/login.html", form=form, unverified=True), 422
        else:
            auth.sign_in(user, remember=form.remember.data)
            return redirect(safe_next(home_for(user)))
        return render_template("accounts/login.html", form=form), 422
    return render_template("accounts/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    """Sign out (a POST with CSRF, so a link elsewhere cannot sign you out); the sign-in ends
    on the server, so a copy of this browser's cookies no longer works either."""
    auth.sign_out()
    flash(_("You are signed out."), "info")
    return redirect(url_for("catalogue.home"))


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(auth_limit, methods=["POST"])
def forgot_password():
    """Ask for a reset link; the answer never says whether the email is registered."""
    form = EmailOnlyForm()
    if form.validate_on_submit():
        user = services.find_user(form.email.data)
        if user is not None and user.active:
            with transaction():
                messages.send_password_reset(user)
        return render_template("accounts/reset_sent.html",
                               email=services.normalise_email(form.email.data))
    return render_template("accounts/forgot_password.html", form=form), _form_status()


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@limiter.limit(auth_limit, methods=["POST"])
def reset_password(token: str):
    """Choose a new password from a reset (or staff invitation) link."""
    try:
        services.user_for_reset_token(token)
    except DomainError as exc:
        return render_template("accounts/verify_failed.html", message=str(exc.message),
                               form=EmailOnlyForm(), reset=True), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        with transaction():
            user = services.reset_password(token, form.password.data)
        flash(_("Your password is changed. Please sign in."), "success")
        return _to_login_with(user.email)
    return render_template("accounts/reset_password.html", form=form), _form_status()


@bp.route("/account", methods=["GET", "POST"])
@any_user_required
def profile():
    """See and change one's own details and preferences."""
    form = ProfileForm(obj=current_user, contact_optional=not current_user.is_patient,
                       coordinator=current_user.is_coordinator)
    password_form = ChangePasswordForm(prefix="pw")
    if form.validate_on_submit():
        values = {
            "name": form.name.data, "country": form.country.data or None,
            "timezone": form.timezone.data, "language": form.language.data,
            "phone": form.phone_e164, "currency": form.currency.data,
        }
        if current_user.is_coordinator:
            values["booking_alerts"] = form.booking_alerts.data
        with transaction():
            services.update_profile(current_user, current_user, values)
        flash(_("Your details are saved."), "success")
        return redirect(url_for("accounts.profile"))
    return _profile_page(form, password_form, 422 if request.method == "POST" else 200)


def _profile_page(form: ProfileForm, password_form: ChangePasswordForm, status: int = 200,
                  new_token: str | None = None):
    tokens = db.session.scalars(select(ApiToken).where(
        ApiToken.user_id == current_user.id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.created_at)).all()
    return render_template("accounts/profile.html", form=form, password_form=password_form,
                           tokens=tokens, new_token=new_token), status


@bp.post("/account/api-tokens")
@any_user_required
def create_api_token():
    """Issue a bearer token for the JSON API; it is shown once, on this page only."""
    with transaction():
        token = services.create_api_token(current_user, request.form.get("name", "") or "API")
    form = ProfileForm(obj=current_user, formdata=None,
                       contact_optional=not current_user.is_patient,
                       coordinator=current_user.is_coordinator)
    return _profile_page(form, ChangePasswordForm(prefix="pw"), new_token=token)


@bp.post("/account/api-tokens/<int:token_id>/revoke")
@any_user_required
def revoke_api_token(token_id: int):
    """Revoke one of your tokens; programs using it stop working within seconds."""
    if not attempt(lambda: services.revoke_api_token(current_user, token_id)).ok:
        abort(404)  # not one of yours
    flash(_("The token is revoked."), "success")
    return redirect(url_for("accounts.profile"))


@bp.post("/account/password")
@any_user_required
def change_password():
    """Change one's own password."""
    form = ProfileForm(obj=current_user, formdata=None,
                       contact_optional=not current_user.is_patient,
                       coordinator=current_user.is_coordinator)
    password_form = ChangePasswordForm(prefix="pw")
    if password_form.validate_on_submit():
        # Other sign-ins end with the old password; this one continues.
        changed = attempt(lambda: services.change_password(
            current_user, password_form.current.data, password_form.password.data,
            keep_session=current_user.login_session))
        if not changed.ok:
            password_form.current.errors.append(changed.message)
        else:
            flash(_("Your password is changed. Other devices are signed out."), "success")
            return redirect(url_for("accounts.profile"))
    return _profile_page(form, password_form, 422)
