"""Every clinic, treatment and condition page, and the home page, offers "Book a consultation",
and it lands on the consultation choice narrowed to what the page was about."""

from __future__ import annotations

import re
from html import escape

import pytest
from sqlalchemy import select

from booking.catalogue.models import Clinic, Condition, Treatment
from booking.extensions import db

BOOK = re.compile(r'href="([^"]*)" data-testid="book"')


def _book_link(client, path: str) -> str | None:
    response = client.get(path)
    assert response.status_code == 200
    found = BOOK.search(response.get_data(as_text=True))
    return found.group(1).replace("&amp;", "&") if found else None


def _pages(app) -> list[tuple[str, str]]:
    with app.app_context():
        clinics = db.session.scalars(select(Clinic.slug).where(Clinic.active)).all()
        treatments = [t for t in db.session.scalars(select(Treatment).where(Treatment.active))
                      if any(c.active for c in t.clinics)]
        conditions = db.session.scalars(select(Condition.slug)).all()
        return ([("/", "/book")] + [(f"/clinics/{s}", f"/book?clinic={s}") for s in clinics]
                + [(f"/treatments/{t.slug}", f"/book?treatment={t.slug}") for t in treatments]
                + [(f"/conditions/{s}", f"/book?condition={s}") for s in conditions])


@pytest.mark.parametrize("role", ["anonymous", "patient"])
def test_every_catalogue_page_offers_booking(as_role, app, role) -> None:
    client = as_role(role)
    pages = _pages(app)
    assert len(pages) > 5
    for path, target in pages:
        assert _book_link(client, path) == target, path


def test_staff_are_not_offered_the_patients_booking_button(as_role, app) -> None:
    client = as_role("coordinator")
    for path, _target in _pages(app)[:3]:
        assert _book_link(client, path) is None


def test_an_anonymous_visitor_is_asked_to_sign_in_and_comes_back(as_role, app) -> None:
    response = as_role("anonymous").get("/book?clinic=silom-pain-rehab")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"] and "next=" in response.headers["Location"]


def test_the_choice_is_narrowed_to_the_page_it_came_from(as_role, app) -> None:
    client = as_role("patient")
    with app.app_context():
        treatment = next(t for t in db.session.scalars(select(Treatment).where(Treatment.active))
                         if 0 < len([c for c in t.clinics if c.active])
                         < db.session.query(Clinic).filter(Clinic.active).count())
        offering = {escape(c.name) for c in treatment.clinics if c.active}
        others = {escape(c.name) for c in db.session.scalars(select(Clinic).where(
            Clinic.active))} - offering
        clinics = db.session.scalars(select(Clinic).where(Clinic.active)
                                     .order_by(Clinic.name)).all()
        last = clinics[-1]
    page = client.get(f"/book?treatment={treatment.slug}").get_data(as_text=True)
    assert all(name in page for name in offering)
    assert not any(name in page for name in others)
    # From a clinic's page that clinic comes first, highlighted.
    page = client.get(f"/book?clinic={last.slug}").get_data(as_text=True)
    first_card = page.index('<section class="card mb-3')
    assert page.index(escape(last.name), first_card) < min(
        page.index(escape(c.name), first_card) for c in clinics[:-1])
    assert "border-primary" in page[first_card:first_card + 80]
