"""/api/v1/trips: a patient's trip to Bangkok (flights, passport, companions, hotel, pickup,
needs, itinerary, visa letter), with the same rules and errors as the trip page: the routes in
views.py, the answers in body.py, the request and answer schemas in schemas.py."""

from booking.api.travel.views import bp

__all__ = ["bp"]
