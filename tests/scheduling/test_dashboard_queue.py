"""The coordinator's dashboard starts with the work queue: holds waiting for a person, soonest
lapse first, with the time left and what is still missing."""

from __future__ import annotations

from tests.conftest import post_form
from tests.scheduling.helpers import hold, screen


def _item(page: str, ref: str) -> str:
    start = page.index(f'data-testid="waiting-{ref}"')
    return page[start:page.index("</li>", start)]


def test_waiting_holds_lead_the_dashboard_with_time_left_and_whats_missing(as_role, app):
    with app.app_context():
        screen()
        ready = hold(consented=True)
        screen("patient2@example.com")
        unfinished = hold("patient2@example.com")
        ready_ref, unfinished_ref, ready_id = ready.reference, unfinished.reference, ready.id
        soonest = min((ready, unfinished), key=lambda b: b.hold_expires_at).reference
    clinic = as_role("coordinator")
    page = clinic.get("/coordinator/").get_data(as_text=True)
    queue = page[page.index('data-testid="waiting"'):]
    assert queue.index(f"waiting-{soonest}") == min(queue.index(f"waiting-{ready_ref}"),
                                                    queue.index(f"waiting-{unfinished_ref}"))
    ready_item, unfinished_item = _item(page, ready_ref), _item(page, unfinished_ref)
    assert "left to confirm" in ready_item and "Confirm: deposit received" in ready_item
    assert "still needed from the patient" in unfinished_item
    assert "consent" in unfinished_item.lower()
    assert "Confirm: deposit received" not in unfinished_item
    # Confirmed from the queue, it leaves the queue.
    done = post_form(clinic, f"/coordinator/bookings/{ready_id}/confirm", {},
                     token_from="/coordinator/")
    assert done.status_code == 302
    assert f"waiting-{ready_ref}" not in clinic.get("/coordinator/").get_data(as_text=True)
    # Another clinic's coordinator sees none of it.
    other = as_role("other_coordinator").get("/coordinator/").get_data(as_text=True)
    assert f"waiting-{unfinished_ref}" not in other and "No holds are waiting" in other
