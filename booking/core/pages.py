"""What staff list and edit pages share: a bounded page number, the filters kept on pager links,
and the edit form that saves through a service in one transaction and keeps what was typed."""

from __future__ import annotations

from collections.abc import Callable

from flask import flash, redirect, render_template, request
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from booking.core.actions import attempt
from booking.core.errors import Unprocessable
from booking.core.inputs import page_number

PER_PAGE = 50


def asked_page() -> tuple[int, str | None]:
    """The asked-for page (bounded), or page 1 and the message saying why not."""
    try:
        return page_number(request.args.get("page")), None
    except Unprocessable as exc:
        return 1, str(exc.message)


def csv_cell(text: str) -> str:
    """A CSV cell a spreadsheet never runs as a formula (=, +, -, @ start one)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def other_args() -> dict[str, str]:
    """The other query arguments, kept on pagination links."""
    return {k: v for k, v in request.args.items() if k != "page"}


def edit_page(form: FlaskForm, title: str, save: Callable[[], object], done: str,
              back: str):  # type: ignore[no-untyped-def]
    """Validate, save through a service in one transaction; on any error keep what was typed."""
    if form.validate_on_submit():
        saved = attempt(save)
        if saved.ok:
            flash(_("Saved."), "success")
            return redirect(done)
        flash(saved.message, "danger")
    status = 422 if request.method == "POST" else 200
    return render_template("admin/form.html", form=form, title=title, back=back), status
