"""The JSON API under /api/v1 (session or bearer-token auth)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the API (its blueprint, its OpenAPI document) on `app`."""
    from booking.api.views import bp

    app.register_blueprint(bp)
