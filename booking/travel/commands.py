"""`flask rotate-keys`: re-seal every stored passport number and issued letter with the newest
key in ENCRYPTION_KEYS, so an old key can then be dropped."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from booking.core import crypto
from booking.core.actions import transaction
from booking.extensions import db
from booking.travel.models import Companion, Trip, VisaLetter

#: (model, column) pairs holding Fernet tokens.
SEALED = ((Trip, "passport_number_sealed"), (Companion, "passport_number_sealed"),
          (VisaLetter, "content_sealed"))
BATCH = 500


@click.command("rotate-keys")
@with_appcontext
def rotate_keys_command() -> None:
    """Re-seal personal identifiers with the first key of ENCRYPTION_KEYS."""
    total = 0
    for model, column in SEALED:
        attribute = getattr(model, column)
        last_id = 0
        while True:
            with transaction():
                rows = list(db.session.scalars(
                    select(model).where(attribute.is_not(None), model.id > last_id)
                    .order_by(model.id).limit(BATCH).with_for_update()))
                for row in rows:
                    setattr(row, column, crypto.reseal(getattr(row, column)))
            total += len(rows)
            if len(rows) < BATCH:
                break
            last_id = rows[-1].id
    click.echo(f"Re-sealed {total} values with the newest key.")
