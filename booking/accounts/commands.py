"""`flask create-user`: the way to make the first admin (staff never self-register)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from booking.accounts import services
from booking.catalogue.models import Clinic
from booking.core.actions import transaction
from booking.core.errors import DomainError
from booking.extensions import db


@click.command("create-user")
@click.argument("email")
@click.option("--name", required=True, help="Full name.")
@click.option("--role", type=click.Choice(["coordinator", "admin"]), required=True)
@click.option("--clinic", "clinic_slug", help="Clinic slug (coordinators only).")
@click.password_option(help="Password; prompted for when not given.")
@with_appcontext
def create_user_command(email: str, name: str, role: str, clinic_slug: str | None,
                        password: str) -> None:
    """Create a coordinator or an admin account."""
    clinic_id = None
    if clinic_slug:
        clinic = db.session.scalar(select(Clinic).where(Clinic.slug == clinic_slug))
        if clinic is None:
            raise click.BadParameter(f"no clinic with slug {clinic_slug!r}", param_hint="--clinic")
        clinic_id = clinic.id
    try:
        with transaction():
            user = services.create_staff(None, email=email, name=name, role=role,
                                         clinic_id=clinic_id, password=password)
    except DomainError as exc:
        raise click.ClickException(str(exc.message)) from exc
    click.echo(f"Created {role} {user.email}")


@click.group("api-token")
def api_token_group() -> None:
    """Bearer tokens for the JSON API."""


@api_token_group.command("create")
@click.argument("email")
@click.option("--name", default="CLI", help="A label to recognise the token by.")
@with_appcontext
def create_api_token_command(email: str, name: str) -> None:
    """Issue a token for EMAIL and print it (it is shown only once)."""
    user = services.find_user(email)
    if user is None:
        raise click.ClickException(f"no account with email {email}")
    with transaction():
        token = services.create_api_token(user, name)
    click.echo(token)
