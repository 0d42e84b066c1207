"""The admin's account screens: staff accounts (invite, edit, suspend) and the list of
everyone. URLs stay under /admin/users."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from booking.accounts import messages as account_messages
from booking.accounts import services as accounts
from booking.accounts.forms import StaffEditForm, StaffForm
from booking.accounts.models import User
from booking.catalogue.manage import clinic_choices
from booking.core.actions import apply, transaction
from booking.core.audit import record as audit_record
from booking.core.pages import PER_PAGE, asked_page, edit_page, other_args
from booking.core.policy import admin_required
from booking.extensions import db

bp = Blueprint("staff", __name__, url_prefix="/admin")


# Staff and accounts -----------------------------------------------------------------------

@bp.get("/users")
@admin_required
def users():
    """Staff and patients, newest first."""
    role = request.args.get("role")
    query = select(User).order_by(User.created_at.desc())
    if role in {"patient", "coordinator", "admin"}:
        query = query.where(User.role == role)
    number, problem = asked_page()
    page = db.paginate(query, page=number, per_page=PER_PAGE, error_out=False)
    return render_template("accounts/staff/users.html", page=page, role=role, args=other_args(),
                           page_problem=problem), 422 if problem else 200


@bp.route("/users/new", methods=["GET", "POST"])
@admin_required
def new_staff():
    """Create a coordinator or admin; they get an email link to choose a password."""
    form = StaffForm()
    form.clinic_id.choices = [(0, _l("— none (admins) —"))] + clinic_choices()

    def save() -> object:
        user = accounts.create_staff(
            current_user, email=form.email.data, name=form.name.data, role=form.role.data,
            clinic_id=form.clinic_id.data or None)
        account_messages.send_staff_invite(user)  # queued in the same transaction
        return user

    return edit_page(form, _("New staff account"), save, url_for("staff.users"),
                 url_for("staff.users"))


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_staff(user_id: int):
    """Rename a coordinator or admin, or move them to another clinic or role."""
    user = db.get_or_404(User, user_id)
    if user.is_patient:
        abort(404)
    form = StaffEditForm(obj=user)
    form.clinic_id.choices = [(0, _l("— none (admins) —"))] + clinic_choices()
    if request.method == "GET":
        form.clinic_id.data = user.clinic_id or 0

    def save() -> object:
        return accounts.update_staff(current_user, user, name=form.name.data,
                                     role=form.role.data, clinic_id=form.clinic_id.data or None)

    return edit_page(form, _("Edit %(name)s (%(email)s)", name=user.name, email=user.email), save,
                 url_for("staff.users"), url_for("staff.users"))


@bp.post("/users/<int:user_id>/invite")
@admin_required
def resend_invite(user_id: int):
    """Send a staff member a new link to choose their password (valid 7 days)."""
    user = db.get_or_404(User, user_id)
    if user.is_patient or not user.active:
        abort(404)
    with transaction():
        account_messages.send_staff_invite(user)
        audit_record(current_user, "user.invited", user)
    flash(_("A new invitation is on its way to %(email)s.", email=user.email), "success")
    return redirect(url_for("staff.users"))


@bp.post("/users/<int:user_id>/active")
@admin_required
def set_user_active(user_id: int):
    """Suspend or restore an account."""
    user = db.get_or_404(User, user_id)
    apply(lambda: accounts.set_active(current_user, user, request.form.get("active") == "1"),
          _("Saved."))
    return redirect(url_for("staff.users"))
