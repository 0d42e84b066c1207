"""The JSON API under /api/v1 (session or bearer-token auth), built with flask-smorest: its
OpenAPI document is generated from the schemas that validate every request and answer."""

from __future__ import annotations

from flask import Flask

from booking.core.ids import MAX_ID, IdConverter

DESCRIPTION = (
    "Clinics, availability, screenings and bookings. Instants are ISO 8601 with an offset "
    "(answers are in UTC, with the patient's and Bangkok times beside); dates and instants lie "
    "between 2000-01-01 and 2100-12-31. Errors are {\"error\": {\"code\", \"message\", "
    "\"fields\"?}}; `fields` names each invalid field. Unknown fields in a JSON body are "
    "refused (422); unknown query parameters are ignored. Writes made with a browser session "
    "need the X-CSRFToken header; bearer tokens do not.")


def _id_schema(converter: IdConverter) -> dict:
    return {"type": "integer", "minimum": 1, "maximum": converter.max or MAX_ID}


def init_app(app: Flask) -> None:
    """Register the API (its blueprint, its OpenAPI document, its error answers) on `app`."""
    from booking.api import errors
    from booking.api.travel import bp as travel_bp
    from booking.api.views import bp

    app.config.setdefault("API_TITLE", "SpineBridge API")
    app.config.setdefault("API_VERSION", "1.0.0")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": DESCRIPTION},
        "security": [{"bearer": []}, {"session": []}],
    })
    api = errors.Api(app)
    api.spec.components.security_scheme("bearer", {
        "type": "http", "scheme": "bearer",
        "description": "A token from your profile page or `flask api-token create`"})
    api.spec.components.security_scheme("session", {
        "type": "apiKey", "in": "cookie", "name": "session",
        "description": "A signed-in browser session; writes need the X-CSRFToken header"})
    api.register_converter(IdConverter, _id_schema)
    api.register_blueprint(bp)
    api.register_blueprint(travel_bp)
    # The document describes itself too, so every /api/v1 route is in it.
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == "api-docs.openapi_json")
    api.spec.path(rule=rule, parameters=[], operations={"get": {
        "summary": "This OpenAPI document", "security": [], "tags": ["api"],
        "responses": {"200": {"description": "OK", "content": {
            "application/json": {"schema": {"type": "object"}}}}}}})
    # (Its answers are never cached: guards.no_store_when_personal, with signed-in pages.)
    app.extensions["api"] = api
