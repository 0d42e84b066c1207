"""The patient's trip: flights, passport, companions, hotel, pickup, needs and the itinerary."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("travel", __name__)
