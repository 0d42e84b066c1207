"""The coordinators' travel desk: arrivals, departures, hotels, pickups, letters to review."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("travel_desk", __name__)
