"""Authorization: the one place that decides which role may reach which view."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort
from flask_login import current_user, login_required

PATIENT = "patient"
COORDINATOR = "coordinator"
ADMIN = "admin"
ROLES = (PATIENT, COORDINATOR, ADMIN)


def roles_required(*roles: str) -> Callable:
    """Allow only signed-in users holding one of `roles`; anonymous users go to the login page."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = roles  # type: ignore[attr-defined]
        return wrapped

    return decorator


patient_required = roles_required(PATIENT)
coordinator_required = roles_required(COORDINATOR)
admin_required = roles_required(ADMIN)
staff_required = roles_required(COORDINATOR, ADMIN)
any_user_required = roles_required(*ROLES)


def can_manage_clinic(user: Any, clinic_id: int) -> bool:
    """Coordinators only their own clinic; admins all."""
    if user.role == ADMIN:
        return True
    return user.role == COORDINATOR and user.clinic_id == clinic_id
