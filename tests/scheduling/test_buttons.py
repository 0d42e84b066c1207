"""Who may press which button: the booking page shows a button exactly when pressing it
works, for every role (the same rule the services enforce)."""

from __future__ import annotations

import pytest

from booking.extensions import db
from booking.scheduling.models import Booking
from tests.conftest import post_form
from tests.scheduling.helpers import hold, screen

BUTTONS = {
    "confirm": "/coordinator/bookings/{id}/confirm",
    "cancel": "/bookings/{id}/cancel\"",
    "move": "/bookings/{id}/reschedule\"",
    "video": "/coordinator/bookings/{id}/video-link",
    "consent": "/bookings/{id}/consent",
}

# What each viewer is offered on a held booking (screened and consented, so confirmable) and
# on a confirmed one. Admins see every booking and may cancel or move it; the desk work is the
# clinic coordinator's.
SHOWN = {
    ("patient", "held"): {"cancel"},
    ("patient", "confirmed"): {"cancel", "move"},
    ("coordinator", "held"): {"cancel", "confirm", "video"},
    ("coordinator", "confirmed"): {"cancel", "move", "video"},
    ("admin", "held"): {"cancel"},
    ("admin", "confirmed"): {"cancel", "move"},
}


def _booking(app, state: str) -> int:
    with app.app_context():
        screen()
        booking = hold(consented=True, confirm=state == "confirmed")
        return booking.id


def _shown(client, booking_id: int) -> set[str]:
    response = client.get(f"/bookings/{booking_id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    return {name for name, path in BUTTONS.items() if path.format(id=booking_id) in html}


@pytest.mark.parametrize(("role", "state"), sorted(SHOWN))
def test_each_role_is_offered_exactly_its_buttons(as_role, app, role, state) -> None:
    booking_id = _booking(app, state)
    assert _shown(as_role(role), booking_id) == SHOWN[(role, state)]


def _press(client, name: str, booking_id: int):  # type: ignore[no-untyped-def]
    page = f"/bookings/{booking_id}"
    if name == "confirm":
        return post_form(client, BUTTONS["confirm"].format(id=booking_id), {}, token_from=page)
    if name == "video":
        return post_form(client, BUTTONS["video"].format(id=booking_id),
                         {"url": "https://meet.example.com/sb-room"}, token_from=page)
    return post_form(client, f"/bookings/{booking_id}/cancel", {"reason": ""},
                     token_from=f"/bookings/{booking_id}/cancel")


def _pressed(app, name: str, booking_id: int) -> bool:
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        return {"confirm": booking.state == "confirmed",
                "video": booking.video_url == "https://meet.example.com/sb-room",
                "cancel": booking.state.startswith("cancelled")}[name]


@pytest.mark.parametrize("role", ["patient", "coordinator", "admin"])
@pytest.mark.parametrize("name", ["confirm", "video", "cancel"])
def test_a_button_works_exactly_when_it_is_shown(as_role, app, role, name) -> None:
    booking_id = _booking(app, "held")
    client = as_role(role)
    shown = name in _shown(client, booking_id)
    response = _press(client, name, booking_id)
    assert _pressed(app, name, booking_id) is shown, (role, name, response.status_code)
    if not shown:
        assert response.status_code in (302, 403, 404)


@pytest.mark.parametrize("role", ["patient2", "other_coordinator"])
def test_someone_elses_booking_offers_nothing_and_refuses_everything(as_role, app, role):
    booking_id = _booking(app, "held")
    client = as_role(role)
    assert client.get(f"/bookings/{booking_id}").status_code == 404
    for name in ("confirm", "video", "cancel"):
        refused = post_form(client, BUTTONS[name].format(id=booking_id).rstrip('"'),
                            {"url": "https://meet.example.com/sb-room"}, token_from="/account")
        assert refused.status_code in (403, 404)
        assert not _pressed(app, name, booking_id)
