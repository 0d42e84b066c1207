"""Public catalogue pages: home, conditions, treatments (with evidence), clinics."""

from __future__ import annotations

import re

from flask import Blueprint, abort, render_template

from booking.catalogue import services
from booking.catalogue.pagecache import cached_page

bp = Blueprint("catalogue", __name__)

#: Slugs are short lower-case words joined by hyphens (the admin form enforces it); anything
#: else cannot name a page, so it is not found without asking the database.
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def _slug(slug: str) -> str:
    if len(slug) > 80 or not _SLUG.fullmatch(slug):
        abort(404)
    return slug


@bp.get("/")
@cached_page
def home():
    """What we offer, plainly, and how booking works."""
    return render_template(
        "catalogue/home.html",
        conditions=services.list_conditions(),
        treatments=services.list_treatments(),
        clinics=services.list_clinics(),
    )


@bp.get("/conditions")
@cached_page
def conditions():
    """The back conditions clinics treat."""
    return render_template("catalogue/conditions.html", conditions=services.list_conditions())


@bp.get("/conditions/<slug>")
@cached_page
def condition(slug: str):
    """One condition and the treatments that address it."""
    return render_template("catalogue/condition.html",
                           condition=services.get_condition(_slug(slug)))


@bp.get("/treatments")
@cached_page
def treatments():
    """Every treatment with its regulatory status and price range."""
    return render_template("catalogue/treatments.html", treatments=services.list_treatments())


@bp.get("/treatments/<slug>")
@cached_page
def treatment(slug: str):
    """One treatment: evidence, regulatory status, who is not a candidate, price."""
    return render_template("catalogue/treatment.html",
                           treatment=services.get_treatment(_slug(slug)))


@bp.get("/clinics")
@cached_page
def clinics():
    """The Bangkok clinics."""
    return render_template("catalogue/clinics.html", clinics=services.list_clinics())


@bp.get("/clinics/<slug>")
@cached_page
def clinic(slug: str):
    """One clinic: address, accreditation, doctors, consultation types and deposits."""
    return render_template("catalogue/clinic.html", clinic=services.get_clinic(_slug(slug)))
